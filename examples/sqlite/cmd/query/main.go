// sqlite-query: github.com/mattn/go-sqlite3 (SQLite compiled through cgo), fully static, running a query.
package main

import (
	"database/sql"
	"fmt"
	"log"

	_ "github.com/mattn/go-sqlite3"
)

func main() {
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3), (36);`); err != nil {
		log.Fatal(err)
	}
	var version string
	var total int
	if err := db.QueryRow(`SELECT sqlite_version(), SUM(n) FROM t`).Scan(&version, &total); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sqlite %s: sum=%d\n", version, total)
}
