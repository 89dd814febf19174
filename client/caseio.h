/*
 * caseio: the CLI's side of caseload import and export. Reading an import
 * file (CSV, README "Importing a caseload") into the rows the daemon's
 * import op takes, each with the line it came from; writing a case of the
 * export op's reply back out as rows of the same format (so an export
 * imports again); and a progress bar, drawn only on a terminal.
 */
#ifndef SF_CASEIO_H
#define SF_CASEIO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* The columns of the import format, in the order export writes them. */
#define CASEIO_HEADER "case,on,what,dob,officer,team,set,key"

/*
 * Read the CSV file at path (UTF-8, a header row): *rows gets a new array of
 * row objects {"line", "case", "on", "what", and, when their cells are not
 * empty, "dob", "officer", "team", "attrs" (from "set": KEY=VALUE pairs
 * joined by ";"), "key"}; each row the file gets wrong (CSV syntax, a
 * missing or unknown column, a bad "set") is appended to errors as {"line",
 * "reason"} instead. 0, or -1 with err set when the file cannot be read.
 */
int caseio_read_csv(const char *path, json_t **rows, json_t *errors, char *err, size_t errlen);
/* Append s to out as one CSV field (quoted when it holds a comma, quote or line break). */
void caseio_csv_field(sb *out, const char *s);
/*
 * Append the import rows of one case of the export reply (its "case",
 * "dob", "attrs", "processes", "events") to out: the row opening it, a
 * start for each process started by hand (follow-on processes come again
 * from the events that start them), and each event not voided.
 */
void caseio_case_csv(sb *out, const json_t *c);
/* Is the progress bar drawn (stderr is a terminal)? */
bool caseio_progress_on(void);
/* Draw "what [#####.....] done/total unit" on stderr when it is a terminal (total 0: a count). */
void caseio_progress(const char *what, size_t done, size_t total, const char *unit);
/* Clear the bar's line, if one was drawn. */
void caseio_progress_end(void);

#endif
