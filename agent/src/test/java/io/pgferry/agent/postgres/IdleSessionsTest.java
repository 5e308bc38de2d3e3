package io.pgferry.agent.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgferry.agent.config.PostgresConfig;
import io.pgferry.agent.config.Secret;
import io.pgferry.agent.testbed.PgBed;
import io.pgferry.agent.testbed.PgCluster;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The agent's sessions kept a moment for the next request ({@link IdleSessions}), on a real PostgreSQL 16 reached as
 * the agent reaches it (TCP, SCRAM): a session comes back as a new login would be, never one the server ended, never
 * one from before a change to what new sessions start with, and none is kept for long.
 */
@PgBed(major = 16)
class IdleSessionsTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final String DB = "idle_sessions";
    private static final String OTHER_DB = "idle_sessions_other";

    static PgCluster cluster;

    @BeforeAll
    static void database() throws Exception {
        try (Connection c = cluster.connect("postgres"); Statement st = c.createStatement()) {
            for (String db : List.of(DB, OTHER_DB)) {
                st.execute("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
                st.execute("CREATE DATABASE " + db);
            }
        }
    }

    private static PgConnector connector() {
        return new PgConnector(new PostgresConfig(cluster.host(), cluster.port(), cluster.superuser(),
                Optional.of(Secret.of(cluster.superuserPassword())), Optional.empty(), "postgres"));
    }

    @Test
    void aSessionGivenBackIsReusedAsANewLoginWouldBe() throws Exception {
        PgConnector connector = connector();
        int first;
        try (Connection c = connector.open(DB, TIMEOUT, false)) {
            first = pid(c);
            try (Statement st = c.createStatement()) {
                st.execute("SET session_replication_role = replica");
                st.execute("SET application_name = 'someone else'");
                st.execute("CREATE TEMP TABLE left_over (id int)");
                st.execute("SET ROLE pg_monitor");
            }
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("SELECT 1");  // a transaction left open
            }
        }
        try (Connection c = connector.open(DB, TIMEOUT, true)) {
            assertEquals(first, pid(c), "the idle session was not reused");
            assertTrue(c.getAutoCommit());
            assertTrue(c.isReadOnly());
            assertEquals("origin", one(c, "SHOW session_replication_role"));
            assertEquals("pgferry-agent", one(c, "SHOW application_name"));
            assertEquals(cluster.superuser(), one(c, "SELECT current_user"));
            assertEquals("0", one(c, "SELECT count(*) FROM pg_class WHERE relname = 'left_over'"));
            // pgjdbc sets extra_float_digits after its login, so the reset returns it to the server's default: on 12
            // and later any positive value prints floats the same way, in the shortest text that reads back exactly.
            try (Connection fresh = cluster.connect(DB)) {
                String third = "SELECT (1 / 3::float8)::text || ' ' || (0.1::float4)::text";
                assertEquals(one(fresh, third), one(c, third));
            }
        }
    }

    @Test
    void aConnectionClosedOnceIsNotUsableAndNotGivenBackTwice() throws Exception {
        PgConnector connector = connector();
        Connection c = connector.open(DB, TIMEOUT, true);
        c.close();
        c.close();
        assertTrue(c.isClosed());
        SQLException e = assertThrows(SQLException.class, c::createStatement);
        assertEquals("08003", e.getSQLState());
        try (Connection a = connector.open(DB, TIMEOUT, true); Connection b = connector.open(DB, TIMEOUT, true)) {
            assertNotEquals(pid(a), pid(b), "one session lent twice");
        }
    }

    @Test
    void aSessionTheServerEndedIsNeverHandedOut() throws Exception {
        PgConnector connector = connector();
        int first;
        try (Connection c = connector.open(DB, TIMEOUT, true)) {
            first = pid(c);
        }
        try (Connection admin = cluster.connect("postgres"); Statement st = admin.createStatement()) {
            st.execute("SELECT pg_terminate_backend(" + first + ", 5000)");
        }
        try (Connection c = connector.open(DB, TIMEOUT, true)) {
            assertNotEquals(first, pid(c));
            assertEquals("1", one(c, "SELECT 1"));
        }
    }

    /** The fence's case: ALTER DATABASE .. SET reaches only new sessions, so none from before may be reused. */
    @Test
    void afterForgetSessionsEverySessionIsANewOneThatSeesTheNewDefaults() throws Exception {
        PgConnector connector = connector();
        int idle;
        int inUse;
        try (Connection a = connector.open(DB, TIMEOUT, false); Connection b = connector.open(DB, TIMEOUT, false)) {
            idle = pid(a);
            inUse = pid(b);
        }
        try (Connection b = connector.open(DB, TIMEOUT, false)) {
            inUse = pid(b);
            try (Statement st = b.createStatement()) {
                st.execute("ALTER DATABASE " + DB + " SET default_transaction_read_only = on");
            }
            connector.forgetSessions();
        }
        try {
            try (Connection c = connector.open(DB, TIMEOUT, false)) {
                assertNotEquals(idle, pid(c));
                assertNotEquals(inUse, pid(c), "the session that ran the ALTER was given back");
                assertEquals("on", one(c, "SHOW default_transaction_read_only"));
            }
        } finally {
            try (Connection admin = cluster.connect(DB); Statement st = admin.createStatement()) {
                st.execute("SET default_transaction_read_only = off");
                st.execute("ALTER DATABASE " + DB + " RESET default_transaction_read_only");
            }
            connector.forgetSessions();
        }
    }

    /**
     * The fence changes only the database's read-only default: the sessions that set theirs (the cutover's steps)
     * outlive it, so its pause logs in no new ones; those that go by the database's defaults do not.
     */
    @Test
    void sessionsThatSetTheirReadOnlyDefaultOutliveTheFence() throws Exception {
        PgConnector connector = connector();
        int own;
        int plain;
        try (Connection a = connector.openSettingReadOnly(DB, TIMEOUT, false);
             Connection b = connector.open(DB, TIMEOUT, false)) {
            own = pid(a);
            plain = pid(b);
        }
        try (Connection c = connector.openSettingReadOnly(DB, TIMEOUT, false); Statement st = c.createStatement()) {
            assertEquals(own, pid(c));
            st.execute("ALTER DATABASE " + DB + " SET default_transaction_read_only = on");
            connector.forgetReadOnlyDefault();
        }
        try {
            try (Connection c = connector.openSettingReadOnly(DB, TIMEOUT, false)) {
                assertEquals(own, pid(c), "the session that sets its own read-only default was ended by the fence");
                assertEquals("off", one(c, "SHOW default_transaction_read_only"));
                assertTrue(Long.parseLong(one(c, "SELECT txid_current()")) > 0, "it writes on the fenced database");
            }
            try (Connection c = connector.openSettingReadOnly(DB, TIMEOUT, true)) {
                assertEquals(own, pid(c));
                assertEquals("on", one(c, "SHOW default_transaction_read_only"));
            }
            try (Connection c = connector.open(DB, TIMEOUT, false)) {
                assertNotEquals(plain, pid(c), "a session going by the database's defaults outlived the fence");
                assertNotEquals(own, pid(c));
                assertEquals("on", one(c, "SHOW default_transaction_read_only"));
            }
            connector.forgetSessions();
            try (Connection c = connector.openSettingReadOnly(DB, TIMEOUT, false)) {
                assertNotEquals(own, pid(c), "forgetSessions ends every session");
            }
        } finally {
            try (Connection admin = cluster.connect(DB); Statement st = admin.createStatement()) {
                st.execute("SET default_transaction_read_only = off");
                st.execute("ALTER DATABASE " + DB + " RESET default_transaction_read_only");
            }
            connector.forgetSessions();
        }
    }

    /** An agent beside a fleet's shared instance serves many databases: it keeps few sessions idle over all of them. */
    @Test
    void fewSessionsAreKeptIdleOverEveryDatabase() throws Exception {
        PgConnector connector = connector();
        List<Connection> open = new ArrayList<>();
        try {
            for (String db : List.of(DB, OTHER_DB, "postgres")) {
                for (int i = 0; i < 3; i++) {
                    open.add(connector.open(db, TIMEOUT, true));
                }
            }
        } finally {
            for (Connection c : open) {
                c.close();
            }
        }
        assertEquals(IdleSessions.IN_ALL, connector.idleSessions(), "kept idle of 9 given back over 3 databases");
    }

    /**
     * At the cap, the session given back stays and the one idle longest goes: the cutover's pause asks each agent for
     * a few sessions on its database right after the rehearsal left them idle beside reads of other databases.
     */
    @Test
    void theSessionGivenBackLastIsKeptAtTheCap() throws Exception {
        PgConnector connector = connector();
        List<Connection> open = new ArrayList<>();
        try {
            for (String db : List.of(OTHER_DB, "postgres")) {
                for (int i = 0; i < 2; i++) {
                    open.add(connector.open(db, TIMEOUT, true));
                }
            }
        } finally {
            for (Connection c : open) {
                c.close();
            }
        }
        assertEquals(IdleSessions.IN_ALL, connector.idleSessions());
        int given;
        try (Connection c = connector.openSettingReadOnly(DB, TIMEOUT, false)) {
            given = pid(c);
        }
        assertEquals(IdleSessions.IN_ALL, connector.idleSessions());
        try (Connection c = connector.openSettingReadOnly(DB, TIMEOUT, false)) {
            assertEquals(given, pid(c), "the session given back last was kept");
        }
    }

    @Test
    void noSessionIsKeptLong() throws Exception {
        PgConnector connector = connector();
        int first;
        try (Connection c = connector.open(DB, TIMEOUT, true)) {
            first = pid(c);
        }
        assertTrue(alive(first));
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (alive(first) && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertFalse(alive(first), "an idle session outlived " + IdleSessions.KEEP + " by far");
    }

    private static boolean alive(int pid) throws Exception {
        try (Connection admin = cluster.connect("postgres")) {
            return one(admin, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid).equals("1");
        }
    }

    private static int pid(Connection c) throws SQLException {
        return Integer.parseInt(one(c, "SELECT pg_backend_pid()"));
    }

    private static String one(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
