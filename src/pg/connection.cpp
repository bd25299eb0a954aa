#include "pg/connection.h"

#include "config/dsn.h"
#include "core/github_annotations.h"
#include "core/interrupt.h"
#include "core/log.h"

#include <fmt/format.h>

namespace pgsplit::pg {

std::string Result::Get(int row, int col) const {
    if (PQgetisnull(res_.get(), row, col)) {
        return {};
    }
    return std::string(PQgetvalue(res_.get(), row, col), PQgetlength(res_.get(), row, col));
}

std::optional<std::string> Result::GetOpt(int row, int col) const {
    if (PQgetisnull(res_.get(), row, col)) {
        return std::nullopt;
    }
    return Get(row, col);
}

int64_t Result::GetInt(int row, int col) const {
    if (row >= Rows() || col >= Columns() || IsNull(row, col)) {
        throw Error(ExitCode::Failure,
                    fmt::format("expected an integer at row {} column {} of a query result", row, col));
    }
    return std::stoll(Get(row, col));
}

std::optional<int64_t> Result::GetOptInt(int row, int col) const {
    if (row < Rows() && col < Columns() && IsNull(row, col)) {
        return std::nullopt;
    }
    return GetInt(row, col);
}

int Result::ColumnIndex(std::string_view name) const {
    int i = PQfnumber(res_.get(), std::string(name).c_str());
    if (i < 0) {
        throw Error(ExitCode::Failure, fmt::format("query result has no column '{}'", name));
    }
    return i;
}

namespace {

// Server NOTICEs ("relation already exists, skipping") are expected noise for idempotent DDL; only
// WARNINGs reach the operator, on stderr, so stdout stays clean for --json and JSON logs.
void OnNotice(void*, const PGresult* r) {
    const char* severity = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (!severity || std::string_view(severity) != "WARNING") {
        return;
    }
    const char* msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    WriteText(2, fmt::format("pgsplit: warning: server: {}\n", EscapeControlChars(msg ? msg : "")));
}

bool Contains(const std::string& text, const char* what) {
    return text.find(what) != std::string::npos;
}

// What to do about a failed connection, from libpq's reason. TLS failures name their cause, because
// "TLS failed" alone sends operators to the wrong knob: a name mismatch is fixed in the host, an
// unknown issuer in sslrootcert, a server without TLS on the server.
std::shared_ptr<const ConnectionAuth>& AuthSlot() {
    static std::shared_ptr<const ConnectionAuth> auth;
    return auth;
}

std::string ConnectHint(const std::string& reason, const std::string& effective_dsn,
                        const ConnectionAuth* auth) {
    if (auth != nullptr && (Contains(reason, "authentication failed") || Contains(reason, "token"))) {
        return "the server refused the Entra ID token (" + auth->describe +
               "): the DSN's user must be an Entra principal of this identity (pgsplit provision "
               "--app-identity, or pgaadauth_create_principal_with_oid), the server must accept Entra ID "
               "authentication, and the token's scope " +
               auth->scope + " must be the server's (PGSPLIT_PG_TOKEN_SCOPE in sovereign clouds)";
    }
    if (Contains(reason, "password authentication failed")) {
        return "the password was rejected: check the secret that holds the DSN";
    }
    std::string root = DsnOption(effective_dsn, "sslrootcert");
    std::string roots = root.empty() ? "sslrootcert (unset: ~/.postgresql/root.crt)" : "sslrootcert " + root;
    if (Contains(reason, "does not match host name")) {
        return "TLS: the server's certificate was issued for another host name (sslmode=verify-full checks "
               "it): connect with the host name the certificate names, not an IP address or alias, or have "
               "the certificate reissued for the name in the DSN";
    }
    if (Contains(reason, "certificate verify failed") || Contains(reason, "self-signed certificate") ||
        Contains(reason, "unable to get local issuer certificate")) {
        return "TLS: the server's certificate is not signed by a CA in " + roots +
               ": point sslrootcert at the CA that issued it (Azure hosts default to sslmode=verify-full "
               "with the system CA bundle)";
    }
    if (Contains(reason, "does not support SSL")) {
        return "TLS: the server does not accept encrypted connections but the DSN's sslmode requires them: "
               "enable ssl on the server, or lower sslmode only for a local test server";
    }
    if (Contains(reason, "root certificate file")) {
        return "TLS: sslmode=verify-ca/verify-full needs the CA certificate and " + roots +
               " cannot be read: set sslrootcert to a readable CA file (the system bundle is "
               "/etc/ssl/certs/ca-certificates.crt)";
    }
    if (Contains(reason, "certificate") || Contains(reason, "SSL")) {
        return "TLS failed: check sslmode and sslrootcert (Azure hosts default to verify-full with the "
               "system CA bundle)";
    }
    if (Contains(reason, "does not exist")) {
        return "the database or role does not exist: check the DSN or run 'pgsplit provision'";
    }
    return "check host, port, database, user and password in the DSN, and that the server accepts "
           "connections";
}

} // namespace

std::string JoinLines(const std::string& text) {
    // libpq continues its message on indented lines, and tries several hosts on separate lines; an
    // error is one line (SPEC §3). A line that ends without punctuation gets "; " before the next.
    std::string flat;
    size_t i = 0;
    while (i < text.size()) {
        size_t end = text.find('\n', i);
        std::string line = text.substr(i, end == std::string::npos ? std::string::npos : end - i);
        i = end == std::string::npos ? text.size() : end + 1;
        size_t first = line.find_first_not_of(" \t");
        size_t last = line.find_last_not_of(" \t\r");
        if (first == std::string::npos) {
            continue;
        }
        line = line.substr(first, last - first + 1);
        if (!flat.empty()) {
            char prev = flat.back();
            flat += (prev == '.' || prev == '?' || prev == '!' || prev == ':' || prev == ';') ? " " : "; ";
        }
        flat += line;
    }
    return flat;
}

Connection Connection::Open(const std::string& dsn, const std::string& application_name,
                            int connect_timeout_s) {
    // A URI with another scheme (postgresq://, postgressql://) is read by libpq as a key=value string
    // and rejected with 'missing "=" after ...': name the scheme instead. Only the scheme is quoted,
    // never the rest, which libpq would not have recognised as a password to hide.
    auto colon = dsn.find("://");
    if (colon != std::string::npos && colon > 0 &&
        dsn.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") == colon) {
        std::string scheme = dsn.substr(0, colon);
        if (scheme != "postgresql" && scheme != "postgres") {
            throw Error(ExitCode::Config,
                        fmt::format("the DSN starts with '{}://', which is not a PostgreSQL URI scheme",
                                    scheme.substr(0, 40)),
                        "a URI DSN starts with postgresql:// (or postgres://); a key=value DSN has none "
                        "(host=... dbname=...)");
        }
    }
    std::string effective = ApplyDsnDefaults(dsn);
    std::vector<const char*> keys = {"dbname", "fallback_application_name", "connect_timeout"};
    std::string timeout = std::to_string(connect_timeout_s);
    std::vector<const char*> vals = {effective.c_str(), application_name.c_str(), timeout.c_str()};
    Connection c;
    c.redacted_ = RedactDsn(dsn);
    std::shared_ptr<const ConnectionAuth> auth = AuthSlot();
    AuthToken token;
    if (auth) {
        if (!DsnOption(dsn, "password").empty()) {
            throw Error(
                ExitCode::Config,
                fmt::format("{} carries a password, but --pg-auth entra authenticates with a token",
                            c.redacted_),
                "remove the password from the DSN (user and host are enough), or use --pg-auth password");
        }
        token = auth->token(); // Error(Connect) naming every credential tried when there is none
        keys.push_back("password");
        vals.push_back(token.value.c_str());
        c.auth_refresh_at_ = token.refresh_at;
    }
    keys.push_back(nullptr);
    vals.push_back(nullptr);
    c.conn_.reset(PQconnectdbParams(keys.data(), vals.data(), /*expand_dbname=*/1));
    if (!c.conn_) {
        throw Error(ExitCode::Connect, fmt::format("cannot connect to {}: out of memory", c.redacted_));
    }
    if (PQstatus(c.conn_.get()) != CONNECTION_OK) {
        std::string reason = PQerrorMessage(c.conn_.get());
        while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) {
            reason.pop_back();
        }
        reason = JoinLines(reason);
        std::string hint = ConnectHint(reason, effective, auth.get());
        throw Error(ExitCode::Connect,
                    fmt::format("cannot connect to {}: {}", c.redacted_, RedactDsn(reason)), hint);
    }
    PQsetNoticeReceiver(c.conn_.get(), OnNotice, nullptr);
    c.cancel_ = PQgetCancel(c.conn_.get());
    if (c.cancel_) {
        c.cancel_slot_ = RegisterCancel(c.cancel_);
    }
    return c;
}

void SetConnectionAuth(std::shared_ptr<const ConnectionAuth> auth) {
    AuthSlot() = std::move(auth);
}

Connection::Connection(Connection&& o) noexcept
    : conn_(std::move(o.conn_)), redacted_(std::move(o.redacted_)), cancel_(o.cancel_),
      cancel_slot_(o.cancel_slot_), auth_refresh_at_(o.auth_refresh_at_) {
    o.cancel_ = nullptr;
    o.cancel_slot_ = -1;
}

Connection& Connection::operator=(Connection&& o) noexcept {
    if (this != &o) {
        Release();
        conn_ = std::move(o.conn_);
        redacted_ = std::move(o.redacted_);
        cancel_ = o.cancel_;
        cancel_slot_ = o.cancel_slot_;
        auth_refresh_at_ = o.auth_refresh_at_;
        o.cancel_ = nullptr;
        o.cancel_slot_ = -1;
    }
    return *this;
}

Connection::~Connection() {
    Release();
}

void Connection::Release() {
    if (cancel_slot_ >= 0) {
        UnregisterCancel(cancel_slot_);
        cancel_slot_ = -1;
    }
    if (cancel_) {
        PQfreeCancel(cancel_);
        cancel_ = nullptr;
    }
    conn_.reset();
}

void Connection::ThrowResultError(PGresult* r, const std::string& what) const {
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    std::string sqlstate = state ? state : "";
    std::string primary;
    if (r && PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)) {
        primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    } else {
        primary = conn_ ? PQerrorMessage(conn_.get()) : "no connection";
        while (!primary.empty() && (primary.back() == '\n' || primary.back() == ' ')) {
            primary.pop_back();
        }
    }
    std::string detail = r && PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL)
                             ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL)
                             : "";
    std::string server_hint =
        r && PQresultErrorField(r, PG_DIAG_MESSAGE_HINT) ? PQresultErrorField(r, PG_DIAG_MESSAGE_HINT) : "";
    int position = 0;
    if (r && PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION)) {
        position = std::atoi(PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION));
    }
    std::string msg = fmt::format("{} failed on {}: {}", what, redacted_, primary);
    if (!sqlstate.empty()) {
        msg += fmt::format(" (SQLSTATE {})", sqlstate);
    }
    if (!detail.empty()) {
        msg += ": " + detail;
    }
    ExitCode code = ExitCode::Failure;
    std::string hint = server_hint;
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
        code = ExitCode::Connect;
        hint = "the connection to the server was lost; nothing was committed by the interrupted step";
    }
    if (sqlstate == kQueryCanceled && InterruptExitCode() != 0) {
        code = InterruptExitCode() == 130 ? ExitCode::Interrupt : ExitCode::Terminate;
    }
    if (sqlstate.rfind("28", 0) == 0) {
        code = ExitCode::Connect;
    }
    std::string server_message = detail.empty() ? primary : primary + ": " + detail;
    throw SqlError(code, msg, sqlstate, hint, position, server_message);
}

Result Connection::Check(ResultPtr r, const std::string& sql, bool allow_copy_in) {
    ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY ||
        (allow_copy_in && st == PGRES_COPY_IN)) {
        return Result(std::move(r));
    }
    std::string what = sql.substr(0, sql.find_first_of("\n("));
    if (what.size() > 60) {
        what = what.substr(0, 60) + "...";
    }
    ThrowResultError(r.get(), fmt::format("'{}'", what));
}

Result Connection::Exec(const std::string& sql) {
    CheckInterrupt();
    return Check(ResultPtr(PQexecParams(conn_.get(), sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0)),
                 sql);
}

Result Connection::ExecScript(const std::string& sql) {
    CheckInterrupt();
    return Check(ResultPtr(PQexec(conn_.get(), sql.c_str())), sql);
}

Result Connection::Exec(const std::string& sql, const Params& params) {
    CheckInterrupt();
    return ExecDespiteInterrupt(sql, params);
}

Result Connection::ExecDespiteInterrupt(const std::string& sql, const Params& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) {
        values.push_back(p ? p->c_str() : nullptr);
    }
    return Check(ResultPtr(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                                        values.data(), nullptr, nullptr, 0)),
                 sql);
}

std::optional<std::string> Connection::QueryValue(const std::string& sql, const Params& params) {
    Result r = Exec(sql, params);
    if (r.Rows() == 0) {
        return std::nullopt;
    }
    if (r.Rows() > 1) {
        throw Error(ExitCode::Failure,
                    fmt::format("expected at most one row from '{}', got {}", sql, r.Rows()));
    }
    return r.GetOpt(0, 0);
}

void Connection::CopyStart(const std::string& copy_sql) {
    CheckInterrupt();
    Check(ResultPtr(PQexecParams(conn_.get(), copy_sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0)),
          copy_sql, /*allow_copy_in=*/true);
}

void Connection::CopyData(const char* data, size_t len) {
    while (len > 0) {
        int chunk = static_cast<int>(std::min<size_t>(len, 1 << 30));
        if (PQputCopyData(conn_.get(), data, chunk) != 1) {
            ThrowResultError(nullptr, "COPY data");
        }
        data += chunk;
        len -= static_cast<size_t>(chunk);
    }
}

int64_t Connection::CopyEnd() {
    if (PQputCopyEnd(conn_.get(), nullptr) != 1) {
        ThrowResultError(nullptr, "COPY end");
    }
    ResultPtr last;
    while (PGresult* r = PQgetResult(conn_.get())) {
        last.reset(r);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            ResultPtr failed = std::move(last);
            while (PGresult* rest = PQgetResult(conn_.get())) {
                PQclear(rest);
            }
            ThrowResultError(failed.get(), "COPY");
        }
    }
    std::string n = last ? PQcmdTuples(last.get()) : "0";
    return n.empty() ? 0 : std::stoll(n);
}

void Connection::CopyAbort(const std::string& reason) {
    PQputCopyEnd(conn_.get(), reason.c_str());
    while (PGresult* r = PQgetResult(conn_.get())) {
        PQclear(r);
    }
}

std::string QuoteIdent(const Connection& c, std::string_view ident) {
    char* q = PQescapeIdentifier(c.Raw(), ident.data(), ident.size());
    if (!q) {
        throw Error(ExitCode::Failure, fmt::format("cannot quote identifier '{}'", ident));
    }
    std::string out(q);
    PQfreemem(q);
    return out;
}

std::string QuoteLiteral(const Connection& c, std::string_view literal) {
    char* q = PQescapeLiteral(c.Raw(), literal.data(), literal.size());
    if (!q) {
        throw Error(ExitCode::Failure, "cannot quote a literal");
    }
    std::string out(q);
    PQfreemem(q);
    return out;
}

int LineOfPosition(std::string_view sql, int position) {
    // The server counts characters, not bytes; skip UTF-8 continuation bytes while counting.
    int line = 1;
    int chars = 0;
    for (char ch : sql) {
        auto c = static_cast<unsigned char>(ch);
        if ((c & 0xC0) != 0x80) {
            ++chars;
            if (chars >= position) {
                break;
            }
        }
        if (c == '\n') {
            ++line;
        }
    }
    return line;
}

} // namespace pgsplit::pg
