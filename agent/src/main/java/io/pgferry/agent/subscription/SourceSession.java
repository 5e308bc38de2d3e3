package io.pgferry.agent.subscription;

import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.problem.ApiException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.postgresql.Driver;
import org.postgresql.PGProperty;
import org.postgresql.util.PSQLException;

/**
 * Connections from the target agent to the source, over the path and with the role the subscription uses. The
 * password goes to the driver in properties, never into a URL, argv or a log line; a failure is reported with the
 * server's message, the password masked should it ever appear there.
 */
public final class SourceSession {
    private static final Driver DRIVER = new Driver();
    /**
     * Server settings of every copy session, as startup options so no statement runs before the snapshot is
     * exported: a copy may idle inside a transaction between tables and hold one for hours; and values' text forms
     * must not depend on the role's or database's own settings (the target parses them with these).
     */
    private static final String OPTIONS = "-c statement_timeout=0 -c lock_timeout=0 "
            + "-c idle_in_transaction_session_timeout=0 -c idle_session_timeout=0 -c DateStyle=ISO "
            + "-c IntervalStyle=postgres -c extra_float_digits=3 -c bytea_output=hex";

    private SourceSession() {
    }

    /** A normal session, for reading the catalogs and the rows. */
    public static Connection open(SourceConnection source, String application) {
        return connect(source, application, false);
    }

    /**
     * A replication session ({@code replication=database}): only the replication protocol's commands and simple
     * queries, used to create the slot with its exported snapshot.
     */
    public static Connection replication(SourceConnection source, String application) {
        return connect(source, application, true);
    }

    private static Connection connect(SourceConnection source, String application, boolean replication) {
        Properties p = new Properties();
        PGProperty.PG_DBNAME.set(p, source.dbname());
        PGProperty.USER.set(p, source.user());
        PGProperty.PASSWORD.set(p, source.password());
        if (source.sslmode() != null) {
            PGProperty.SSL_MODE.set(p, source.sslmode());
        }
        PGProperty.CONNECT_TIMEOUT.set(p, 10);
        PGProperty.LOGIN_TIMEOUT.set(p, 20);
        // Reads may wait long (a slot waits for running transactions; a big table's range scan) but not forever.
        PGProperty.SOCKET_TIMEOUT.set(p, (int) Duration.ofHours(2).toSeconds());
        PGProperty.TCP_KEEP_ALIVE.set(p, true);
        PGProperty.APPLICATION_NAME.set(p, application);
        PGProperty.OPTIONS.set(p, OPTIONS);
        if (replication) {
            PGProperty.REPLICATION.set(p, "database");
            PGProperty.PREFER_QUERY_MODE.set(p, "simple");
            PGProperty.ASSUME_MIN_SERVER_VERSION.set(p, "9.4");
        }
        String host = source.host().contains(":") ? "[" + source.host() + "]" : source.host();
        try {
            Connection c = DRIVER.connect("jdbc:postgresql://" + host + ":" + source.port() + "/", p);
            if (c == null) {
                throw new IllegalStateException("pgjdbc rejected its own URL");
            }
            return c;
        } catch (SQLException e) {
            throw unreachable(source, e);
        }
    }

    /** 502 {@code source_unreachable} naming where and why, with the fix. */
    public static ApiException unreachable(SourceConnection source, SQLException e) {
        String why = reason(e);
        return new ApiException(502, "source_unreachable", "The target agent could not use the source",
                "the target agent could not connect to the source at " + source.host() + ":" + source.port() + "/"
                + source.dbname() + " as " + source.user() + ": " + mask(source, why) + "; check the connection's "
                + "host, port, user and password, that the source's pg_hba.conf lets the target host in (for "
                + "\"replication\" too: the copy creates the slot on a replication connection) and sslmode",
                null, List.of(), e);
    }

    /** The server's own message when it sent one, else what failed on the network. */
    public static String reason(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnknownHostException) {
                return "unknown host";
            }
            if (t instanceof ConnectException) {
                return "connection refused";
            }
        }
        if (e instanceof PSQLException p && p.getServerErrorMessage() != null
                && p.getServerErrorMessage().getMessage() != null) {
            return p.getServerErrorMessage().getMessage() + " (SQLSTATE " + e.getSQLState() + ")";
        }
        return "SQLSTATE " + (e.getSQLState() == null ? "none" : e.getSQLState());
    }

    public static String mask(SourceConnection source, String text) {
        return text == null ? "" : text.replace(source.password(), StepResult.MASK);
    }
}
