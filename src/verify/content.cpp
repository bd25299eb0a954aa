#include "verify/content.h"

#include "core/error.h"

#include <algorithm>
#include <fmt/format.h>
#include <future>
#include <map>
#include <set>

namespace pgsplit::verify {
namespace {

using sync::BucketDigests;
using sync::ContentDigest;
using sync::Target;

// At most this many rows per side are held to be matched by key (about 100 bytes each); when the
// differing buckets hold more, only the first buckets up to it are compared and the count is a floor.
constexpr int64_t kMaxRowsCompared = 200000;

// A row's fields keyed by its primary key fields (all fields when the table has no primary key).
using RowsByKey = std::map<std::string, std::vector<std::string>>;

std::vector<size_t> KeyColumns(const Target& target) {
    std::vector<size_t> out;
    for (const auto& ix : target.indexes) {
        if (ix.kind != sync::TargetIndex::Kind::PrimaryKey) {
            continue;
        }
        for (const auto& k : ix.keys) {
            for (size_t c = 0; c < target.columns.size(); ++c) {
                if (target.columns[c].name == k.column) {
                    out.push_back(c);
                }
            }
        }
    }
    if (out.empty()) {
        for (size_t c = 0; c < target.columns.size(); ++c) {
            out.push_back(c);
        }
    }
    return out;
}

std::string KeyOf(const std::vector<std::string>& fields, const std::vector<size_t>& key_columns) {
    std::string key;
    for (size_t c : key_columns) {
        key += fields[c];
    }
    return key;
}

std::string KeyText(const Target& target, const std::vector<std::string>& fields,
                    const std::vector<size_t>& key_columns) {
    std::string out;
    for (size_t c : key_columns) {
        out += (out.empty() ? "" : ", ") + target.columns[c].name + "=" +
               sync::FieldText(target.columns[c].type, fields[c]);
    }
    return out;
}

std::string MonthWhere(const pg::Connection& conn, const std::string& partition_column) {
    return " WHERE " + pg::QuoteIdent(conn, partition_column) + " = $1";
}

ContentDigest DigestFromRow(const pg::Result& r, int row, int count_col, int sum_col) {
    auto d = ContentDigest::FromServer(r.GetInt(row, count_col), r.GetOpt(row, sum_col).value_or(""));
    if (!d) {
        throw Error(ExitCode::Failure, "the server returned a digest pgsplit cannot read: " +
                                           r.GetOpt(row, sum_col).value_or("NULL"));
    }
    return *d;
}

BucketDigests ServerBuckets(pg::Connection& conn, const Target& target, const std::string& partition_column,
                            const std::string& value) {
    std::string sql =
        fmt::format("SELECT (h >> {0}) & {1}, count(*), sum(h) FROM (SELECT {2} AS h FROM {3}{4}) s "
                    "GROUP BY 1",
                    64 - sync::kBucketBits, sync::kBuckets - 1, sync::RowHashSql(conn, target.columns),
                    target.quoted, MonthWhere(conn, partition_column));
    pg::Result r = conn.Exec(sql, {value});
    BucketDigests out{};
    for (int i = 0; i < r.Rows(); ++i) {
        int64_t b = r.GetInt(i, 0);
        if (b < 0 || b >= static_cast<int64_t>(sync::kBuckets)) {
            throw Error(ExitCode::Failure, fmt::format("the server returned bucket {} of a digest", b));
        }
        out[static_cast<size_t>(b)] = DigestFromRow(r, i, 1, 2);
    }
    return out;
}

std::vector<std::string> HexToFields(const pg::Result& r, int row, size_t columns) {
    std::vector<std::string> fields;
    for (size_t c = 0; c < columns; ++c) {
        std::string hex = r.Get(row, static_cast<int>(c));
        std::string raw;
        raw.reserve(hex.size() / 2);
        for (size_t i = 0; i + 1 < hex.size(); i += 2) {
            raw.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
        }
        fields.push_back(std::move(raw));
    }
    return fields;
}

RowsByKey ServerRows(pg::Connection& conn, const Target& target, const std::string& partition_column,
                     const std::string& value, const std::set<uint32_t>& buckets,
                     const std::vector<size_t>& key_columns) {
    std::string list, array;
    for (const auto& c : target.columns) {
        list += (list.empty() ? "" : ", ") + ("encode(" + sync::FieldSql(conn, c) + ", 'hex')");
    }
    for (uint32_t b : buckets) {
        array += array.empty() ? "" : ",";
        array += std::to_string(b);
    }
    std::string sql =
        fmt::format("SELECT {} FROM {}{} AND (({} >> {}) & {}) = ANY($2::int[])", list, target.quoted,
                    MonthWhere(conn, partition_column), sync::RowHashSql(conn, target.columns),
                    64 - sync::kBucketBits, sync::kBuckets - 1);
    pg::Result r = conn.Exec(sql, {value, "{" + array + "}"});
    RowsByKey out;
    for (int i = 0; i < r.Rows(); ++i) {
        auto fields = HexToFields(r, i, target.columns.size());
        out[KeyOf(fields, key_columns)] = std::move(fields);
    }
    return out;
}

// Digests every row the encoder writes, in total and per bucket; optionally keeps the rows of some
// buckets.
class DigestObserver : public sync::RowObserver {
public:
    DigestObserver(const Target& target, const std::set<uint32_t>* keep,
                   const std::vector<size_t>* key_columns)
        : hasher_(target.columns), columns_(target.columns.size()), keep_(keep), key_columns_(key_columns) {}

    void OnRow(const char* fields, size_t size) override {
        uint64_t h = hasher_.Hash(fields, size);
        total.Add(h);
        buckets[sync::BucketOf(h)].Add(h);
        if (keep_ && keep_->count(sync::BucketOf(h))) {
            std::vector<std::string> split;
            if (sync::SplitFields(fields, size, columns_, split)) {
                kept[KeyOf(split, *key_columns_)] = std::move(split);
            }
        }
    }

    ContentDigest total;
    BucketDigests buckets{};
    RowsByKey kept;

private:
    sync::RowHasher hasher_;
    size_t columns_;
    const std::set<uint32_t>* keep_;
    const std::vector<size_t>* key_columns_;
};

} // namespace

const char* KindName(RowDifference::Kind kind) {
    switch (kind) {
    case RowDifference::Kind::MissingInPostgres:
        return "missing in Postgres";
    case RowDifference::Kind::ExtraInPostgres:
        return "extra in Postgres";
    case RowDifference::Kind::ValuesDiffer:
        return "values differ";
    }
    return "?";
}

std::string Describe(const RowDifference& row) {
    std::string out = fmt::format("({}) {}", row.key, KindName(row.kind));
    for (size_t i = 0; i < row.columns.size(); ++i) {
        const auto& c = row.columns[i];
        out += fmt::format("{} {}: Delta {}, Postgres {}", i ? ";" : ":", c.column, c.delta, c.postgres);
    }
    return out;
}

ContentDigest ServerDigest(pg::Connection& conn, const Target& target, const std::string& partition_column,
                           const std::string& value) {
    std::string sql =
        fmt::format("SELECT count(*), sum({}) FROM {}{}", sync::RowHashSql(conn, target.columns),
                    target.quoted, MonthWhere(conn, partition_column));
    pg::Result r = conn.Exec(sql, {value});
    return DigestFromRow(r, 0, 0, 1);
}

ContentCheck CompareContent(const Logger& log, pg::Connection& conn, sync::Source& source,
                            const Target& target, const std::string& value, size_t show) {
    const std::string& partition_column = source.Job().partition_column;
    ContentCheck out;
    sync::SyncOptions options;

    // The server digests its copy while this thread reads Delta.
    auto server =
        std::async(std::launch::async, [&] { return ServerDigest(conn, target, partition_column, value); });
    DigestObserver first(target, nullptr, nullptr);
    sync::EncodedPartition read;
    try {
        read = sync::EncodePartition(log, source, target, value, options, first);
    } catch (...) {
        server.wait(); // the connection is free again before the error unwinds past it
        throw;
    }
    out.postgres = server.get();
    out.delta = first.total;
    out.invalid_rows = read.invalid;
    if (*out.delta == *out.postgres) {
        return out;
    }

    // Which buckets differ; the rows of the first of them (up to kMaxRowsCompared a side) are matched.
    BucketDigests pg_buckets = ServerBuckets(conn, target, partition_column, value);
    std::set<uint32_t> differing;
    int64_t delta_rows = 0, pg_rows = 0;
    bool partial = false;
    for (uint32_t b = 0; b < sync::kBuckets; ++b) {
        if (first.buckets[b] == pg_buckets[b]) {
            continue;
        }
        if (!differing.empty() && (delta_rows + first.buckets[b].rows > kMaxRowsCompared ||
                                   pg_rows + pg_buckets[b].rows > kMaxRowsCompared)) {
            partial = true;
            continue;
        }
        differing.insert(b);
        delta_rows += first.buckets[b].rows;
        pg_rows += pg_buckets[b].rows;
    }
    std::vector<size_t> key_columns = KeyColumns(target);
    DigestObserver again(target, &differing, &key_columns);
    sync::EncodePartition(log, source, target, value, options, again);
    RowsByKey in_pg = ServerRows(conn, target, partition_column, value, differing, key_columns);

    auto note = [&](RowDifference d) {
        ++out.differing_rows;
        if (out.rows.size() < show) {
            out.rows.push_back(std::move(d));
        }
    };
    auto d = again.kept.begin();
    auto p = in_pg.begin();
    while (d != again.kept.end() || p != in_pg.end()) {
        if (p == in_pg.end() || (d != again.kept.end() && d->first < p->first)) {
            note({RowDifference::Kind::MissingInPostgres, KeyText(target, d->second, key_columns), {}});
            ++d;
        } else if (d == again.kept.end() || p->first < d->first) {
            note({RowDifference::Kind::ExtraInPostgres, KeyText(target, p->second, key_columns), {}});
            ++p;
        } else {
            if (d->second != p->second) {
                RowDifference diff{
                    RowDifference::Kind::ValuesDiffer, KeyText(target, d->second, key_columns), {}};
                for (size_t c = 0; c < target.columns.size(); ++c) {
                    if (d->second[c] != p->second[c]) {
                        diff.columns.push_back({target.columns[c].name,
                                                sync::FieldText(target.columns[c].type, d->second[c]),
                                                sync::FieldText(target.columns[c].type, p->second[c])});
                    }
                }
                note(std::move(diff));
            }
            ++d;
            ++p;
        }
    }
    if (partial) {
        log.Debug(fmt::format("{} {}: more rows differ than verify holds at once; the count is a lower bound",
                              target.quoted, value));
    }
    return out;
}

} // namespace pgsplit::verify
