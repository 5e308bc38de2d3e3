package io.pgferry.agent.postgres;

import io.pgferry.agent.config.PostgresConfig;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import org.postgresql.Driver;
import org.postgresql.PGProperty;
import org.postgresql.util.PSQLException;

/**
 * Connections to the local PostgreSQL, each for one request. A session given back is kept a moment for the next
 * request on its database ({@link IdleSessions}): checked before reuse, so the server's real state is what a request
 * sees, and reset, so it starts as a new login would.
 */
public final class PgConnector {
    private static final Driver DRIVER = new Driver();
    private static final int CONNECT_TIMEOUT_SECONDS = 2;
    /** SQLSTATE read_only_sql_transaction. */
    private static final String READ_ONLY = "25006";

    private final PostgresConfig config;
    private final IdleSessions idle;

    public PgConnector(PostgresConfig config) {
        this.config = config;
        this.idle = new IdleSessions(this::login);
    }

    /**
     * @param socketTimeout how long any single read may block, so a hung server cannot hang the caller
     * @throws PostgresUnavailableException when the server cannot be reached or refuses the login
     */
    public Connection open(Duration socketTimeout) {
        return open(config.database(), socketTimeout, true);
    }

    /**
     * A connection to one database of the local server. Read-only unless the caller is a step that changes
     * something, so a bug in a read path cannot write.
     */
    public Connection open(String database, Duration socketTimeout, boolean readOnly) {
        return open(database, socketTimeout, readOnly, false);
    }

    /**
     * As {@link #open(String, Duration, boolean)}, and the session's default_transaction_read_only set to match,
     * whatever the database's default is (a fenced database's is on): the cutover's steps, which must read or write
     * a fenced database as they mean to. Such a session outlives the fence's {@link #forgetReadOnlyDefault()}.
     */
    public Connection openSettingReadOnly(String database, Duration socketTimeout, boolean readOnly) {
        return open(database, socketTimeout, readOnly, true);
    }

    private Connection open(String database, Duration socketTimeout, boolean readOnly, boolean ownReadOnlyDefault) {
        Connection c = idle.take(database, ownReadOnlyDefault);
        try {
            c.setReadOnly(readOnly);
            c.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE,
                    Math.max(1000, socketTimeout.toMillis())));
            if (ownReadOnlyDefault) {
                try (Statement st = c.createStatement()) {
                    st.execute("SET default_transaction_read_only = " + (readOnly ? "on" : "off"));
                }
            }
            return c;
        } catch (SQLException e) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // the session is broken already
            }
            throw new PostgresUnavailableException(describe(e), e);
        }
    }

    /**
     * Ends the idle sessions: after a statement that changes what a new session starts with (a database's or a role's
     * settings, such as the fence's default_transaction_read_only), the next request logs in anew.
     */
    public void forgetSessions() {
        idle.clear();
    }

    /**
     * As {@link #forgetSessions()} after a statement that changed only a database's default_transaction_read_only
     * (the fence, the unfence): the sessions from {@link #openSettingReadOnly} stay, as they set it themselves.
     */
    public void forgetReadOnlyDefault() {
        idle.clearReadOnlyDefault();
    }

    /** Sessions kept idle now, over every database. */
    int idleSessions() {
        return idle.idle();
    }

    private Connection login(String database) {
        try {
            Properties p = properties();
            PGProperty.PG_DBNAME.set(p, database);
            Connection c = DRIVER.connect(url(), p);
            if (c == null) {
                throw new IllegalStateException("pgjdbc rejected its own URL " + url());
            }
            return c;
        } catch (SQLException e) {
            throw new PostgresUnavailableException(describe(e), e);
        }
    }

    public ServerVersion serverVersion(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(
                     "SELECT current_setting('server_version'), current_setting('server_version_num')::int")) {
            rs.next();
            return new ServerVersion(rs.getString(1), rs.getInt(2));
        }
    }

    /**
     * Maps a failure during a query: lost or refused connections and shutdowns are "unavailable", a refused write
     * "read-only", anything else means the server answered but said no.
     */
    public PostgresException translate(SQLException e) {
        String state = e.getSQLState();
        if (state == null || state.startsWith("08") || state.startsWith("57")) {
            return new PostgresUnavailableException(describe(e), e);
        }
        if (READ_ONLY.equals(state)) {
            // Not a fault of PostgreSQL's: the database is fenced (or the server a standby), which the caller can fix.
            return PostgresException.readOnly("PostgreSQL refused a write because the database is read-only", e);
        }
        return PostgresException.queryRefused(describe(e) + serverMessage(e), e);
    }

    /**
     * PostgreSQL's own message for a refused statement (what to grant, which object is missing), for the problem's
     * detail and the agent's log. Not for syntax errors and data exceptions, whose messages quote the statement's
     * text or values, nor for authentication failures; never the driver's text.
     */
    static String serverMessage(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        if (!(e instanceof PSQLException p) || p.getServerErrorMessage() == null || state.equals("42601")
                || state.startsWith("22") || state.startsWith("28")) {
            return "";
        }
        String message = p.getServerErrorMessage().getMessage();
        if (message == null || message.isBlank()) {
            return "";
        }
        message = message.strip();
        return ": " + (message.length() > 300 ? message.substring(0, 300) + "..." : message);
    }

    /** What the client may know: where we tried and the SQLSTATE, never the driver's text. */
    public String describe(SQLException e) {
        String state = e.getSQLState() == null ? "none" : e.getSQLState();
        return "cannot query PostgreSQL at " + target() + " as " + config.user() + " (SQLSTATE " + state + ")";
    }

    public PostgresConfig config() {
        return config;
    }

    public String target() {
        return config.viaUnixSocket() ? socketFile() : config.host() + ":" + config.port();
    }

    private String url() {
        String host = config.viaUnixSocket() ? "localhost"
                : config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return "jdbc:postgresql://" + host + ":" + config.port() + "/";
    }

    /** A login's: each request sets its own read timeout on the session it is lent ({@link #open}). */
    private Properties properties() {
        Properties p = new Properties();
        PGProperty.PG_DBNAME.set(p, config.database());
        PGProperty.USER.set(p, config.user());
        config.password().ifPresent(pw -> PGProperty.PASSWORD.set(p, pw.reveal()));
        PGProperty.CONNECT_TIMEOUT.set(p, CONNECT_TIMEOUT_SECONDS);
        PGProperty.LOGIN_TIMEOUT.set(p, CONNECT_TIMEOUT_SECONDS + 1);
        PGProperty.SOCKET_TIMEOUT.set(p, CONNECT_TIMEOUT_SECONDS);
        PGProperty.APPLICATION_NAME.set(p, "pgferry-agent");
        // In the startup packet, not SET after the login: a session given back is reset (DISCARD ALL) to what its login
        // said, and the fence and the transactions check tell the agent's sessions by this name. Every server the
        // agent supports is far past 9.0.
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(p, "9.0");
        PGProperty.READ_ONLY.set(p, true);
        if (config.viaUnixSocket()) {
            PGProperty.SOCKET_FACTORY.set(p, "org.newsclub.net.unix.AFUNIXSocketFactory$FactoryArg");
            PGProperty.SOCKET_FACTORY_ARG.set(p, socketFile());
            PGProperty.SSL_MODE.set(p, "disable");
        }
        return p;
    }

    private String socketFile() {
        return config.host() + "/.s.PGSQL." + config.port();
    }
}
