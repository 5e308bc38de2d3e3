package io.pgferry.agent.stopreplication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgferry.agent.catalog.Subscriptions;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PgBed;
import io.pgferry.agent.testbed.PgCluster;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stopping a stream whose publisher cannot be reached (the link cut inside a cutover's pause): a real subscription of
 * one database of a PostgreSQL 16 cluster to another, its connection pointed at a closed port. The call answers 502
 * {@code publisher_unreachable} (at once, or after PUBLISHER_TIMEOUT when nothing answers) and leaves the subscription
 * enabled as it was, or disabled when asked; once the
 * publisher is back, the same call drops the subscription and its slot.
 */
@PgBed(major = 16)
class StopReplicationUnreachableTest {
    private static final String PATH = "/v1/migrations/gone/stop-replication";

    static PgCluster cluster;

    @Test
    void aPublisherOutOfReachLeavesTheSubscriptionAsItWasOrDisabledWhenAsked(@TempDir Path dir) throws Exception {
        for (String db : new String[] {"gone_pub", "gone_sub"}) {
            sql("postgres", "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
            sql("postgres", "CREATE DATABASE " + db);
        }
        // The slot is made apart: CREATE SUBSCRIPTION cannot make one on its own cluster.
        sql("gone_pub", "CREATE PUBLICATION pgferry_gone");
        sql("gone_pub", "SELECT pg_create_logical_replication_slot('pgferry_gone', 'pgoutput')");
        String live = "host=" + cluster.peerHost() + " port=" + cluster.peerPort() + " dbname=gone_pub user="
                + cluster.superuser() + " password=" + cluster.superuserPassword().replace("'", "''");
        sql("gone_sub", "CREATE SUBSCRIPTION pgferry_gone CONNECTION '" + live + "' PUBLICATION pgferry_gone "
                + "WITH (create_slot = false, slot_name = 'pgferry_gone', copy_data = false)");
        sql("gone_sub", "ALTER SUBSCRIPTION pgferry_gone CONNECTION 'host=127.0.0.1 port=1 dbname=gone_pub "
                + "connect_timeout=2'");

        try (AgentHandle agent = AgentHandle.start(cluster, dir.resolve("agent"))) {
            Answer restored = agent.post(PATH, Map.of("database", "gone_sub"));
            assertEquals(502, restored.status(), restored.body().toString());
            assertEquals("publisher_unreachable", restored.at("/code").asText());
            assertTrue(restored.at("/detail").asText().contains("enabled again as it was"), restored.body().toString());
            assertEquals("t", one("gone_sub", "SELECT subenabled FROM pg_subscription WHERE subname = 'pgferry_gone'"));

            Answer bad = agent.post(PATH, Map.of("database", "gone_sub", "if_unreachable", "maybe"));
            assertEquals(400, bad.status(), bad.body().toString());
            assertTrue(bad.body().toString().contains("if_unreachable"), bad.body().toString());

            // A publisher behind a link that drops packets: the connect is accepted and then never answered.
            try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
                sql("gone_sub", "ALTER SUBSCRIPTION pgferry_gone CONNECTION 'host=127.0.0.1 port="
                        + silent.getLocalPort() + " dbname=gone_pub'");
                long started = System.nanoTime();
                Answer timedOut = agent.post(PATH, Map.of("database", "gone_sub"));
                long seconds = (System.nanoTime() - started) / 1_000_000_000L;
                assertEquals(502, timedOut.status(), timedOut.body().toString());
                assertTrue(timedOut.at("/detail").asText().contains("enabled again as it was"), timedOut.body()
                        .toString());
                assertTrue(seconds < Subscriptions.PUBLISHER_TIMEOUT.toSeconds() + 10, seconds + " s");
                assertEquals("t", one("gone_sub", "SELECT subenabled FROM pg_subscription WHERE subname = "
                        + "'pgferry_gone'"));
            }
            sql("gone_sub", "ALTER SUBSCRIPTION pgferry_gone CONNECTION 'host=127.0.0.1 port=1 dbname=gone_pub "
                    + "connect_timeout=2'");

            Answer disabled = agent.post(PATH, Map.of("database", "gone_sub", "if_unreachable", "disable"));
            assertEquals(502, disabled.status(), disabled.body().toString());
            assertEquals("f", one("gone_sub", "SELECT subenabled FROM pg_subscription WHERE subname = 'pgferry_gone'"));
            assertEquals("1", one("gone_pub", "SELECT count(*) FROM pg_replication_slots WHERE slot_name = "
                    + "'pgferry_gone'"));

            sql("gone_sub", "ALTER SUBSCRIPTION pgferry_gone CONNECTION '" + live + "'");
            Answer dropped = agent.post(PATH, Map.of("database", "gone_sub"));
            assertEquals(200, dropped.status(), dropped.body().toString());
            assertEquals("0", one("gone_sub", "SELECT count(*) FROM pg_subscription WHERE subname = 'pgferry_gone'"));
            assertEquals("0", one("gone_pub", "SELECT count(*) FROM pg_replication_slots WHERE slot_name = "
                    + "'pgferry_gone'"), "the slot went with the subscription");
        }
    }

    private static void sql(String db, String sql) throws Exception {
        try (Connection c = cluster.connect(db); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    private static String one(String db, String sql) throws Exception {
        try (Connection c = cluster.connect(db); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
