#pragma once

// The bodies of the libFuzzer targets, shared with the regular suite: each *_fuzz.cpp target calls one
// of these, and tests/fuzz/regression_test.cpp replays every saved input under tests/data/fuzz/<target>/
// through the same function, so a crash found once stays fixed.
//
// Each entry either returns (the input was handled, or refused with pgsplit::Error as designed) or
// aborts the process (a crash, sanitizer report, or a broken invariant). Nothing else escapes.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pgsplit::fuzz {

// Bytes as a Parquet file: footer, metadata, pages, column and record readers.
void ParquetEntry(const uint8_t* data, size_t size);

// Bytes as a Delta log held in memory: NUL bytes split the input into commits 0, 1, 2 ... of
// `_delta_log/`, then the table is loaded through delta::Table (log replay, action parsing, protocol
// checks, reconciliation) and its files are selected with predicates on every column.
void DeltaLogEntry(const uint8_t* data, size_t size);

// Bytes as a connection string and as a table location: RedactDsn, ApplyDsnDefaults, DsnHost and the
// abfss:// / blob URL parser, with invariants (a password libpq would read never survives redaction;
// the Azure default never changes any other setting).
void DsnEntry(const uint8_t* data, size_t size);

// Bytes as a deletion vector three ways: a RoaringBitmapArray (DeletionVector::Parse), Z85 text of an
// inline DV, and a DV file at offset 1 read through LoadDeletionVector with the checksum the bytes
// carry. Invariants of a parsed DV: ForEach yields Cardinality() ascending values, each Contains()ed,
// the last equal to Max(); nothing but DvFormatError or pgsplit::Error escapes.
void DeletionVectorEntry(const uint8_t* data, size_t size);

// Aborts with `what` on stderr: a broken invariant is a finding, like a crash.
[[noreturn]] void InvariantFailed(std::string_view what);

} // namespace pgsplit::fuzz
