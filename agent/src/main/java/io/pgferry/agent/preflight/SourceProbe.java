package io.pgferry.agent.preflight;

import io.pgferry.agent.migration.QuietSession;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.sql.Sql;
import io.pgferry.agent.subscription.SourceConnection;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.postgresql.Driver;
import org.postgresql.PGProperty;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * Tries the subscription's connection to the source the way the subscription will make it: from the target.
 * When dblink is installed in the database the preflight reads, the target PostgreSQL server itself connects
 * (libpq, the server's DNS, routes, firewall and TLS files: exactly what CREATE SUBSCRIPTION will use). Otherwise
 * the agent connects from the target host with pgjdbc, which shares the host's network view but not the server's
 * libpq settings; a note says so. Installing dblink would be a change, and a preflight changes nothing.
 */
final class SourceProbe {
    private static final String CONNECT_TIMEOUT_SECONDS = "10";
    private static final Driver DRIVER = new Driver();
    private static final String VERSION_QUERY = "SELECT current_setting('server_version_num') || ' ' "
            + "|| current_setting('server_version')";

    /** How a failure looks, whichever way the connection was tried. */
    private record Failure(String code, String text) {
    }

    private final SourceConnection source;
    private final String roleName;
    private final boolean roleExists;
    private final Findings out;

    SourceProbe(SourceConnection source, String roleName, boolean roleExists, Findings out) {
        this.source = source;
        this.roleName = roleName;
        this.roleExists = roleExists;
        this.out = out;
    }

    void run(Connection target, String databaseRead) throws SQLException {
        List<String> dblink = Catalog.strings(target, "SELECT n.nspname FROM pg_extension e "
                + "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'dblink'");
        String where = source.host() + ":" + source.port() + "/" + source.dbname() + " as " + source.user();
        if (!dblink.isEmpty()) {
            out.fact("source_connection_tested_from", "target_server");
            try {
                report(where, viaDblink(target, dblink.get(0)), null);
                return;
            } catch (SQLException e) {
                Failure f = classify(e);
                if (f != null) {
                    report(where, null, f);
                    return;
                }
                out.note("dblink could not be used (SQLSTATE " + e.getSQLState() + "); the agent tried the "
                        + "connection itself instead");
            }
        }
        out.fact("source_connection_tested_from", "target_host");
        out.note("the connection to the source was tried by the agent from the target host, not by the target "
                + "PostgreSQL server (dblink is not installed in database " + databaseRead + "); the host's DNS "
                + "and routes are the server's, but a firewall rule for the server's user, or its TLS files, "
                + "could differ. With dblink installed there, the preflight makes the server itself connect.");
        try {
            report(where, viaAgent(), null);
        } catch (SQLException e) {
            report(where, null, classifyJdbc(e));
        }
    }

    private String viaDblink(Connection c, String schema) throws SQLException {
        quietLogs(c);
        // The conninfo is a bind parameter: on error PostgreSQL logs the statement, not (by default) its values.
        try (PreparedStatement st = c.prepareStatement("SELECT v FROM " + Sql.ident(schema) + ".dblink(?, "
                + Sql.literal(VERSION_QUERY) + ") AS t(v text)")) {
            st.setString(1, conninfo());
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    private String viaAgent() throws SQLException {
        Properties p = new Properties();
        PGProperty.PG_DBNAME.set(p, source.dbname());
        PGProperty.USER.set(p, source.user());
        PGProperty.PASSWORD.set(p, source.password());
        if (source.sslmode() != null) {
            PGProperty.SSL_MODE.set(p, source.sslmode());
        }
        PGProperty.CONNECT_TIMEOUT.set(p, CONNECT_TIMEOUT_SECONDS);
        PGProperty.LOGIN_TIMEOUT.set(p, "15");
        PGProperty.SOCKET_TIMEOUT.set(p, "15");
        PGProperty.READ_ONLY.set(p, true);
        PGProperty.APPLICATION_NAME.set(p, "pgferry_preflight");
        String host = source.host().contains(":") ? "[" + source.host() + "]" : source.host();
        try (Connection c = DRIVER.connect("jdbc:postgresql://" + host + ":" + source.port() + "/", p);
             Statement st = c.createStatement(); ResultSet rs = st.executeQuery(VERSION_QUERY)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private void report(String where, String version, Failure failure) {
        if (failure == null) {
            String[] parts = version.split(" ", 2);
            int major = Integer.parseInt(parts[0]) / 10000;
            out.fact("source_reachable", true);
            out.fact("source_server_version", parts[1]);
            out.fact("source_major", major);
            if (major < SourceChecks.MIN_MAJOR) {
                out.error("source_unsupported_version", List.of(parts[1]), "the source at " + where + " runs "
                        + "PostgreSQL " + parts[1] + "; pgferry needs " + SourceChecks.MIN_MAJOR + " or newer",
                        "upgrade the source first, or check that the connection points at the right server");
            }
            return;
        }
        out.fact("source_reachable", false);
        String text = mask(failure.text());
        switch (failure.code()) {
            case "source_name_unresolved" -> out.error(failure.code(), List.of(source.host()), "the target cannot "
                    + "resolve host name " + source.host() + ": " + text, "use a name the target's DNS knows (or "
                    + "its IP address) in pgferry_subscription_host; the controller's view does not count");
            case "source_connection_refused" -> out.error(failure.code(), List.of(source.host() + ":"
                    + source.port()), "the target reached " + source.host() + " but nothing accepted the "
                    + "connection on port " + source.port() + ": " + text, "check the port, that PostgreSQL "
                    + "listens on an address the target can reach (listen_addresses), and firewalls between them");
            case "source_auth_failed" -> {
                if (roleExists) {
                    out.error(failure.code(), List.of(source.user()), "the source refused the login of "
                            + source.user() + ": " + text, "check the replication password (pgferry_replication_"
                            + "password) and the user; the replication_role step sets the password of "
                            + roleName);
                } else {
                    out.warning(failure.code(), List.of(source.user()), "the login as " + source.user() + " failed, "
                            + "as expected: the replication role does not exist on the source yet (the "
                            + "replication_role step creates it). The network path and pg_hba.conf let the target "
                            + "in; the password is checked when the subscription is made: " + text,
                            "nothing to do now; if the subscription step later fails to log in, check the password");
                }
            }
            case "source_pg_hba_rejected" -> out.error(failure.code(), List.of(source.host() + ":" + source.port()),
                    "the source's pg_hba.conf does not let the target in as " + source.user() + " to database "
                    + source.dbname() + ": " + text, "add a line to the source's pg_hba.conf, e.g. host "
                    + source.dbname() + " " + source.user() + " <target address>/32 scram-sha-256, then SELECT "
                    + "pg_reload_conf() on the source");
            case "source_database_missing" -> out.error(failure.code(), List.of(source.dbname()), "the source has "
                    + "no database " + source.dbname() + ": " + text, "check the database name of the connection");
            default -> out.error("source_unreachable", List.of(where), "the target could not connect to the source "
                    + "at " + where + ": " + text, "check the host, port, sslmode and network path from the target "
                    + "to the source");
        }
    }

    /** A dblink failure from libpq's text (the server's lc_messages must be English for the finer codes). */
    private Failure classify(SQLException e) {
        String text = serverText(e);
        if (text == null || e.getSQLState() == null || !e.getSQLState().startsWith("08")) {
            return null;
        }
        String lower = text.toLowerCase(Locale.ROOT);
        String code;
        if (lower.contains("could not translate host name") || lower.contains("name or service not known")
                || lower.contains("nodename nor servname")) {
            code = "source_name_unresolved";
        } else if (lower.contains("connection refused")) {
            code = "source_connection_refused";
        } else if (lower.contains("pg_hba.conf")) {
            code = "source_pg_hba_rejected";
        } else if (lower.contains("password authentication failed") || lower.contains("role \"")
                && lower.contains("does not exist")) {
            code = "source_auth_failed";
        } else if (lower.contains("database \"") && lower.contains("does not exist")) {
            code = "source_database_missing";
        } else {
            code = "source_unreachable";
        }
        return new Failure(code, text);
    }

    private static Failure classifyJdbc(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnknownHostException) {
                return new Failure("source_name_unresolved", "unknown host");
            }
            if (t instanceof ConnectException) {
                return new Failure("source_connection_refused", "connection refused");
            }
            if (t instanceof SocketTimeoutException) {
                return new Failure("source_unreachable", "timed out");
            }
        }
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String text = serverText(e);
        String shown = text != null ? text : e.getMessage() + " (SQLSTATE " + state + ")";
        return switch (state) {
            case "28P01" -> new Failure("source_auth_failed", shown);
            case "28000" -> new Failure(shown.contains("pg_hba.conf") ? "source_pg_hba_rejected"
                    : "source_auth_failed", shown);
            case "3D000" -> new Failure("source_database_missing", shown);
            default -> new Failure("source_unreachable", shown);
        };
    }

    /** The server's message and detail, when the server (not the driver) reported the error. */
    private static String serverText(SQLException e) {
        if (e instanceof PSQLException p) {
            ServerErrorMessage m = p.getServerErrorMessage();
            if (m != null && m.getMessage() != null) {
                return m.getDetail() == null ? m.getMessage() : m.getMessage() + ": " + m.getDetail().strip();
            }
        }
        return null;
    }

    private String mask(String text) {
        return text == null ? "" : text.replace(source.password(), StepResult.MASK);
    }

    private String conninfo() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("host", source.host());
        m.put("port", Integer.toString(source.port()));
        m.put("dbname", source.dbname());
        m.put("user", source.user());
        m.put("password", source.password());
        if (source.sslmode() != null) {
            m.put("sslmode", source.sslmode());
        }
        m.put("connect_timeout", CONNECT_TIMEOUT_SECONDS);
        m.put("application_name", "pgferry_preflight");
        StringBuilder sb = new StringBuilder();
        m.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : " ").append(k).append('=').append(Sql.conninfoValue(v)));
        return sb.toString();
    }

    /** The conninfo is a bind parameter, which duration logging, auto_explain and audit logs still record. */
    private static void quietLogs(Connection c) throws SQLException {
        QuietSession.apply(c);
    }
}
