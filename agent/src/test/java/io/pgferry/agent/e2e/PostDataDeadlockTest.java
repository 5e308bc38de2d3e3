package io.pgferry.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Post-data while the stream applies writes (found by tools/bench-fleet 50 with pgbench writing): a transaction on the
 * target that locks a referenced table and then writes the referencing one, as the apply worker does applying one of
 * the source's, deadlocks with the foreign key pg_restore adds between them (fixtures/basic.sql: included.orders references
 * included.customers). PostgreSQL ends the foreign key's statement; post-data must restore what is still missing again
 * rather than fail the migration.
 */
class PostDataDeadlockTest {
    private static final String DB = "app";
    private static final String M = "pdlock";
    private static final String FK_WAITS = "SELECT count(*) FROM pg_locks WHERE NOT granted AND mode = "
            + "'ShareRowExclusiveLock' AND relation = 'included.customers'::regclass";

    @Test
    void aForeignKeyEndedByADeadlockWithTheStreamIsRestoredAgain(@TempDir Path dir) throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        PgCluster src = PgCluster.create("pdlock-src-" + run, 16);
        PgCluster dst = PgCluster.create("pdlock-dst-" + run, 16);
        try (AgentHandle source = AgentHandle.start(src, dir.resolve("source"));
             AgentHandle target = AgentHandle.start(dst, dir.resolve("target"))) {
            Checksums.execute(src, "postgres", "CREATE DATABASE " + DB);
            Checksums.execute(src, DB, Files.readString(PgBedTool.repoRoot().resolve("fixtures/basic.sql")));
            Map<String, Object> scope = Map.of("exclude_schemas", List.of("excluded"));
            MigrationFlow flow = new MigrationFlow(M, DB, src, source, target, "pd 'pw' " + run, scope);
            flow.schema();
            Map<String, Object> publication = new LinkedHashMap<>(scope);
            publication.put("database", DB);
            MigrationFlow.ok(source.put(path("publication"), publication));
            MigrationFlow.ok(target.put(path("subscription"), Map.of("database", DB, "connection", flow.connection())));
            flow.awaitReady();
            assertEquals(0, Checksums.count(dst, DB, "SELECT count(*) FROM pg_constraint WHERE conname = "
                    + "'orders_customer_id_fkey'"), "the foreign key waits for post-data");

            Answer started;
            long waitedMillis;
            try (Connection writer = dst.connect(DB)) {
                writer.setAutoCommit(false);
                try (Statement st = writer.createStatement()) {
                    st.execute("INSERT INTO included.customers (id, name) OVERRIDING SYSTEM VALUE "
                            + "VALUES (1000001, 'written on the target')");
                }
                writer.commit();
                // The apply worker's write holds ROW EXCLUSIVE; SHARE conflicts with the foreign key the same way
                // but lets pg_restore build the table's other index meanwhile (it runs that one first).
                try (Statement st = writer.createStatement()) {
                    st.execute("LOCK TABLE included.customers IN SHARE MODE");
                }
                started = target.post(path("post-data"), Map.of("database", DB, "role_map", Map.of()));
                awaitForeignKeyWaiting(dst, started);
                long before = System.nanoTime();
                try (Statement st = writer.createStatement()) {
                    // Waits for the foreign key's lock on orders: a deadlock, which ends the foreign key's statement.
                    st.execute("INSERT INTO included.orders (id, customer_id, amount) "
                            + "VALUES (1000001, 1000001, 1)");
                }
                waitedMillis = (System.nanoTime() - before) / 1_000_000;
                writer.commit();
            }
            assertTrue(waitedMillis >= 500, "the transaction did not wait for the foreign key (" + waitedMillis
                    + " ms): no deadlock happened, the test proves nothing");
            MigrationFlow.job(target, started);
            assertEquals(1, Checksums.count(dst, DB, "SELECT count(*) FROM pg_constraint WHERE conname = "
                    + "'orders_customer_id_fkey' AND convalidated"));
            assertEquals(1, Checksums.count(dst, DB, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'included' "
                    + "AND indexname = 'customers_name_idx'"));
        } finally {
            if (System.getenv("PGFERRY_KEEP_CLUSTERS") == null) {
                src.destroy();
                dst.destroy();
            }
        }
    }

    private static void awaitForeignKeyWaiting(PgCluster cluster, Answer started) throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofMinutes(1));
        while (Instant.now().isBefore(deadline)) {
            if (Checksums.count(cluster, DB, FK_WAITS) > 0) {
                return;
            }
            Thread.sleep(50);
        }
        fail("post-data never waited to add the foreign key on included.orders; post-data answered " + started.status()
                + " " + started.body() + "; sessions: " + sessions(cluster));
    }

    private static String sessions(PgCluster cluster) throws Exception {
        try (var c = cluster.connect(DB); var st = c.createStatement(); var rs = st.executeQuery("SELECT string_agg("
                + "application_name || ' ' || state || ' ' || coalesce(wait_event, '-') || ': ' || query, ' | ') "
                + "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static String path(String step) {
        return "/v1/migrations/" + M + "/" + step;
    }
}
