package io.pgferry.agent.catalog;

import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.sql.Sql;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The subscriptions of this server as pg_subscription (one catalog for the whole cluster) has them, and the
 * statements that drop one. Shared by the steps that make, stop and clean up subscriptions.
 */
public final class Subscriptions {
    /**
     * How long a statement that reaches the publisher (CREATE SUBSCRIPTION, DROP SUBSCRIPTION with its slot) may try.
     * A subscription's conninfo has no connect_timeout, so behind a link that drops packets the connect waits out
     * TCP's retries (minutes), past every caller's timeout and with the migration's lock held - inside a cutover's
     * pause, the undo could then neither lift the fence nor drop what was made. A publisher that answers takes
     * milliseconds.
     */
    public static final Duration PUBLISHER_TIMEOUT = Duration.ofSeconds(15);

    /** Whether a statement that reached for the publisher failed on it: the connect failed (08), or timed out. */
    public static boolean publisherUnreachable(SQLException e) {
        String state = e.getSQLState();
        return state != null && (state.startsWith("08") || state.equals("57014"));
    }

    /** Bounds the statements this session runs next to {@link #PUBLISHER_TIMEOUT}. */
    public static void boundByPublisherTimeout(Connection c) throws SQLException {
        try (java.sql.Statement st = c.createStatement()) {
            st.execute("SET statement_timeout = " + PUBLISHER_TIMEOUT.toMillis());
        }
    }

    /**
     * A subscription of the current database.
     *
     * @param streaming {@code on}, {@code off} or {@code parallel}
     * @param conninfo null when the agent's role may not read it (only superusers can)
     * @param slotName null once detached from its slot ({@code slot_name = NONE})
     * @param synchronousCommit how the apply worker commits ({@code off} as created; {@code on} for the cutover)
     */
    public record Subscription(String name, boolean enabled, boolean binary, String streaming, String conninfo,
                               String slotName, List<String> publications, String synchronousCommit) {
    }

    private static final String READ = """
            SELECT s.subenabled, s.subbinary, s.substream::text, %s, s.subslotname, s.subpublications, s.subsynccommit
            FROM pg_subscription s
            WHERE s.subname = ? AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())""";
    private static final String CONNINFO_READABLE =
            "SELECT has_column_privilege('pg_catalog.pg_subscription', 'subconninfo', 'SELECT')";
    private static final String ELSEWHERE = """
            SELECT d.datname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid
            WHERE s.subname = ? AND d.datname <> current_database() ORDER BY 1""";

    private Subscriptions() {
    }

    /** The subscription of this name in the current database; one of the same name in another is not it. */
    public static Optional<Subscription> read(Connection c, String name) throws SQLException {
        String conninfo = conninfoReadable(c) ? "s.subconninfo" : "NULL";
        try (PreparedStatement ps = c.prepareStatement(READ.formatted(conninfo))) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                Array publications = rs.getArray(6);
                return Optional.of(new Subscription(name, rs.getBoolean(1), rs.getBoolean(2),
                        streaming(rs.getString(3)), rs.getString(4), rs.getString(5),
                        Arrays.asList((String[]) publications.getArray()), rs.getString(7)));
            }
        }
    }

    /** The other databases of this server that hold a subscription of this name (its slot name on the source). */
    public static List<String> elsewhere(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(ELSEWHERE)) {
            ps.setString(1, name);
            List<String> databases = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    databases.add(rs.getString(1));
                }
            }
            return databases;
        }
    }

    /**
     * DISABLE and DROP of the subscription of this name, if there is one. DROP also drops its slot on the
     * publisher, through the subscription's connection. With {@code detach}, the subscription is first detached
     * from its slot (the publisher is gone, or its slot is dropped on that side by cleanup), so DROP never needs
     * the publisher.
     */
    public static Plan dropPlan(Connection c, String name, boolean detach) throws SQLException {
        return read(c, name).map(s -> dropPlan(s, detach)).orElseGet(Plan::new);
    }

    /** DISABLE and DROP of this subscription; see {@link #dropPlan(Connection, String, boolean)}. */
    public static Plan dropPlan(Subscription subscription, boolean detach) {
        Plan plan = stopPlan(subscription);
        String ident = Sql.ident(subscription.name());
        if (detach && subscription.slotName() != null) {
            plan.add("ALTER SUBSCRIPTION " + ident + " SET (slot_name = NONE)");
        }
        return plan.add("DROP SUBSCRIPTION " + ident);
    }

    /** DISABLE of this subscription unless it is disabled already: its apply worker exits, nothing more is applied. */
    public static Plan stopPlan(Subscription subscription) {
        Plan plan = new Plan();
        return subscription.enabled() ? plan.add("ALTER SUBSCRIPTION " + Sql.ident(subscription.name()) + " DISABLE")
                : plan;
    }

    /** subconninfo is readable by superusers only; asking first keeps a refused SELECT out of the server's log. */
    private static boolean conninfoReadable(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(CONNINFO_READABLE); ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /** substream is a boolean before 16 and a char (f, t, p) from 16. */
    private static String streaming(String value) {
        return switch (value) {
            case "t", "true" -> "on";
            case "p" -> "parallel";
            default -> "off";
        };
    }
}
