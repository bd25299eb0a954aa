#pragma once

// RAII access to PostgreSQL through libpq. PGconn and PGresult live in unique_ptrs with their libpq
// deleters; every helper checks the result's shape and throws SqlError (keeping the SQLSTATE) on
// failure, so callers never see a raw PGresult they must remember to clear.

#include "core/error.h"

#include <chrono>
#include <functional>
#include <libpq-fe.h>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgsplit::pg {

struct ConnDeleter {
    void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// Some SQLSTATEs callers branch on.
inline constexpr const char* kLockNotAvailable = "55P03";
inline constexpr const char* kQueryCanceled = "57014";
inline constexpr const char* kUniqueViolation = "23505";
inline constexpr const char* kUndefinedTable = "42P01";
inline constexpr const char* kDiskFull = "53100";

// libpq's multi-line message as one line: indentation dropped, lines joined with "; " unless the
// previous one ends in punctuation ("...refused; Is the server running...?").
std::string JoinLines(const std::string& text);

// A failed statement. code() is the exit code to use if nobody handles it; sqlstate() the server's.
class SqlError : public Error {
public:
    SqlError(ExitCode code, std::string message, std::string sqlstate, std::string hint = {},
             int statement_position = 0, std::string server_message = {})
        : Error(code, std::move(message), std::move(hint)), sqlstate_(std::move(sqlstate)),
          position_(statement_position), server_message_(std::move(server_message)) {}
    const std::string& sqlstate() const { return sqlstate_; }
    // The server's primary message (plus detail), without pgsplit's prefix.
    const std::string& server_message() const { return server_message_; }
    // 1-based character position in the statement text the server reported, or 0.
    int position() const { return position_; }

private:
    std::string sqlstate_;
    int position_;
    std::string server_message_;
};

// A query result with shape-checked accessors.
class Result {
public:
    Result() = default;
    explicit Result(ResultPtr r) : res_(std::move(r)) {}

    int Rows() const { return res_ ? PQntuples(res_.get()) : 0; }
    int Columns() const { return res_ ? PQnfields(res_.get()) : 0; }
    bool IsNull(int row, int col) const { return PQgetisnull(res_.get(), row, col) == 1; }
    std::string Get(int row, int col) const;                   // "" for NULL
    std::optional<std::string> GetOpt(int row, int col) const; // nullopt for NULL
    int64_t GetInt(int row, int col) const;                    // throws on NULL / not a number
    std::optional<int64_t> GetOptInt(int row, int col) const;  // nullopt for NULL, else GetInt
    int ColumnIndex(std::string_view name) const;              // throws when absent
    std::string ColumnName(int col) const { return PQfname(res_.get(), col); }
    std::string CommandTuples() const { return res_ ? PQcmdTuples(res_.get()) : ""; }
    PGresult* Raw() const { return res_.get(); }

private:
    ResultPtr res_;
};

using Params = std::vector<std::optional<std::string>>;

// The password of a new connection when it is a token (--pg-auth entra): the token, and when it should
// no longer be used for a new session.
struct AuthToken {
    std::string value;
    std::chrono::system_clock::time_point refresh_at{};
};

// How every connection of the process authenticates when the DSN's password is not the way: a source
// of current tokens and what to call it in messages. Set once by the dispatcher before the command runs
// (like the interrupt handlers, process-wide: the lock connection of migrate, each worker of sync and
// each replica of verify open their own connections, and each must get a current token). Null: libpq's
// own password handling (DSN, PGPASSWORD, .pgpass).
struct ConnectionAuth {
    std::function<AuthToken()> token;
    std::string describe; // "Entra ID token (managed identity (IDENTITY_ENDPOINT, ...))"
    std::string scope;    // for the hint when the server refuses the token
};
void SetConnectionAuth(std::shared_ptr<const ConnectionAuth> auth);

class Connection {
public:
    // Connects (DSN defaults applied, application_name set unless the DSN has one). Failure throws
    // Error(Connect) naming the redacted DSN with libpq's reason and a hint.
    static Connection Open(const std::string& dsn, const std::string& application_name = "pgsplit",
                           int connect_timeout_s = 10);

    Connection() = default;
    Connection(Connection&&) noexcept;
    Connection& operator=(Connection&&) noexcept;
    ~Connection();

    // Runs exactly one statement (extended query protocol, so a second statement hidden in the text
    // is refused by the server instead of run). Throws SqlError on failure.
    Result Exec(const std::string& sql);
    // Runs a script of several statements (simple query protocol). Only for text pgsplit trusts as
    // code: the migration files. Never for SQL that holds a name or value read from elsewhere.
    Result ExecScript(const std::string& sql);
    // Runs one statement with text parameters ($1, $2 ...). Throws SqlError on failure.
    Result Exec(const std::string& sql, const Params& params);
    // Like Exec, but runs even after SIGINT/SIGTERM arrived: for the short statements that record what
    // happened before the process exits. Bound them (SET LOCAL statement_timeout) since the process is
    // on its way out.
    Result ExecDespiteInterrupt(const std::string& sql, const Params& params = {});
    // First column of the first row, nullopt when no row or NULL. Throws if more than one row.
    std::optional<std::string> QueryValue(const std::string& sql, const Params& params = {});

    // Streams COPY FROM STDIN data. Begin with Exec("COPY ... FROM STDIN ..."): returns PGRES_COPY_IN.
    void CopyStart(const std::string& copy_sql);
    void CopyData(const char* data, size_t len);
    // Ends the COPY; returns the number of rows the server stored.
    int64_t CopyEnd();
    // Aborts a COPY in progress with a message (the server rolls the statement back).
    void CopyAbort(const std::string& reason);

    bool Ok() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }
    // Opened with a token that is now past its refresh point: the session still works (the server checks
    // a token at login only), but long work opens a new connection at its next boundary, so a revoked
    // identity stops a backfill at the next month instead of hours later.
    bool AuthStale() const {
        return auth_refresh_at_ != std::chrono::system_clock::time_point{} &&
               std::chrono::system_clock::now() >= auth_refresh_at_;
    }
    int BackendPid() const { return conn_ ? PQbackendPID(conn_.get()) : 0; }
    PGconn* Raw() const { return conn_.get(); }
    const std::string& RedactedDsn() const { return redacted_; }

    // Wraps a failed result into SqlError (used by helpers elsewhere, e.g. COPY).
    [[noreturn]] void ThrowResultError(PGresult* r, const std::string& what) const;

private:
    ConnPtr conn_;
    std::string redacted_;
    PGcancel* cancel_ = nullptr;
    int cancel_slot_ = -1;
    std::chrono::system_clock::time_point auth_refresh_at_{};
    void Release();
    Result Check(ResultPtr r, const std::string& sql, bool allow_copy_in = false);
};

// Quotes an identifier / literal using libpq's escaping for this connection's encoding.
std::string QuoteIdent(const Connection& c, std::string_view ident);
std::string QuoteLiteral(const Connection& c, std::string_view literal);

// Converts a 1-based character position in `sql` into a 1-based line number.
int LineOfPosition(std::string_view sql, int position);

} // namespace pgsplit::pg
