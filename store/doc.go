// Package store is the SQL implementation of oem.Store, over sqlx, for
// PostgreSQL (lib/pq) and SQLite (modernc.org/sqlite, no cgo).
//
// Open picks the database from the DSN, connects, and applies the embedded
// goose migrations. Both databases share one implementation and one SQL
// text; the few differences are in a small dialect value. PostgreSQL is the
// production store: a batch goes through COPY into a temporary table and one
// merge statement. SQLite is the embedded default: multi-row statements in
// one transaction, WAL, one connection.
//
// What the store keeps, in the tables other company services read:
//
//   - wanted_fleet: the wanted fleet (PutFleet, Fleet);
//   - vehicle: what is known of each vehicle (SaveBatch, Vehicles), linked to
//     fleet (the owner), region (the country) and vehicle_model;
//   - vehicle_activation_history: the append-only status changes, linked to
//     vehicle, oem (the connector) and runs;
//   - vehicle_model: model records and their metadata (Models, UpsertModels,
//     CleanupModels), linked to make;
//   - runs: one row per ingestion run.
//
// Unknown values are stored as NULL and never replace known ones (see
// SaveBatch for the few fields that go together). Every write is sorted by
// its key, so concurrent writers lock rows in the same order and never
// deadlock one another. Times are
// stored in UTC with microsecond precision and read back in UTC; contract
// start and end dates are stored as dates (the calendar day of the time
// given, in its own location).
package store
