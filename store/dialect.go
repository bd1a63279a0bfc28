package store

import (
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
)

// dialect holds everything that differs between PostgreSQL and SQLite. The
// SQL itself is shared; only these few pieces are not.
type dialect struct {
	name       string        // "postgres" or "sqlite"
	driver     string        // the database/sql driver name
	goose      goose.Dialect // the migration dialect
	migrations string        // the folder of embedded migrations
	// copy reports whether bulk writes go through COPY into a temporary
	// table (PostgreSQL) instead of multi-row INSERT statements (SQLite).
	copy bool
	// maxParams is the most bind parameters one statement may carry.
	maxParams int
	// collate makes ORDER BY compare bytes, as Go's string comparison does.
	collate string
	// lockShare locks the rows a SELECT reads against deletion and key
	// changes, without blocking other readers or updates of other columns.
	lockShare string
	// lockSkip locks the rows a SELECT reads for deletion, leaving out
	// rows another transaction has locked.
	lockSkip string
	// jsonMerge merges two JSON objects, b's keys over a's; NULL when
	// either is NULL.
	jsonMerge func(a, b string) string
}

var postgres = dialect{
	name:       "postgres",
	driver:     "postgres",
	goose:      goose.DialectPostgres,
	migrations: "migrations/postgres",
	copy:       true,
	maxParams:  65535,
	collate:    ` COLLATE "C"`,
	lockShare:  " FOR KEY SHARE",
	lockSkip:   " FOR UPDATE SKIP LOCKED",
	jsonMerge:  func(a, b string) string { return fmt.Sprintf("(%s || %s)", a, b) },
}

var sqlite = dialect{
	name:       "sqlite",
	driver:     "sqlite",
	goose:      goose.DialectSQLite3,
	migrations: "migrations/sqlite",
	copy:       false,
	maxParams:  32766,
	collate:    "",
	lockShare:  "", // the write lock of the transaction covers it
	lockSkip:   "",
	jsonMerge:  func(a, b string) string { return fmt.Sprintf("json_patch(%s, %s)", a, b) },
}

func (d dialect) bindType() int {
	if d.name == "postgres" {
		return sqlx.DOLLAR
	}

	return sqlx.QUESTION
}
