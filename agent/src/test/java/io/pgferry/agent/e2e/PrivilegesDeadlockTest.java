package io.pgferry.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The privileges step while the stream applies writes: giving two tables their owners back takes an exclusive lock on
 * each, one after the other, in one transaction; a transaction on the target that writes the same two tables in the
 * other order, as the apply worker does applying one of the source's, deadlocks with it. PostgreSQL ends the
 * privileges' transaction; the step must plan and apply again rather than fail the migration.
 *
 * <p>The tables' interim owner has no right on their schema: the identity sequences follow their tables' owner, ACL
 * included, and the step must not run their GRANTs and REVOKEs as the owner they had before (permission denied).
 */
class PrivilegesDeadlockTest {
    private static final String DB = "app";
    private static final String M = "prlock";
    private static final List<String> TABLES = List.of("included.customers", "included.orders");

    @Test
    void newOwnersEndedByADeadlockWithTheStreamAreAppliedAgain(@TempDir Path dir) throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        PgCluster src = PgCluster.create("prlock-src-" + run, 16);
        PgCluster dst = PgCluster.create("prlock-dst-" + run, 16);
        try (AgentHandle source = AgentHandle.start(src, dir.resolve("source"));
             AgentHandle target = AgentHandle.start(dst, dir.resolve("target"))) {
            Checksums.execute(src, "postgres", "CREATE DATABASE " + DB);
            Checksums.execute(src, DB, Files.readString(PgBedTool.repoRoot().resolve("fixtures/basic.sql")));
            Map<String, Object> scope = Map.of("exclude_schemas", List.of("excluded"));
            MigrationFlow flow = new MigrationFlow(M, DB, src, source, target, "pr 'pw' " + run, scope);
            flow.schema();
            Map<String, Object> publication = new LinkedHashMap<>(scope);
            publication.put("database", DB);
            MigrationFlow.ok(source.put(path("publication"), publication));
            MigrationFlow.ok(target.put(path("subscription"), Map.of("database", DB, "connection", flow.connection())));
            flow.awaitReady();
            flow.privileges(false);
            Checksums.execute(dst, DB, "CREATE ROLE prlock_interim; ALTER TABLE included.customers OWNER TO "
                    + "prlock_interim; ALTER TABLE included.orders OWNER TO prlock_interim");

            List<String> order = ownerOrder(flow.privileges(true));
            String first = order.get(0);
            String second = order.get(1);
            CompletableFuture<JsonNode> applied;
            long waitedMillis;
            try (Connection writer = dst.connect(DB)) {
                writer.setAutoCommit(false);
                try (Statement st = writer.createStatement()) {
                    st.execute("LOCK TABLE " + second + " IN ROW EXCLUSIVE MODE");
                }
                applied = CompletableFuture.supplyAsync(() -> {
                    try {
                        return flow.privileges(false);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                awaitOwnerWaiting(dst, second, applied);
                long before = System.nanoTime();
                try (Statement st = writer.createStatement()) {
                    // Waits for the new owner's lock on the first table: a deadlock, which ends the privileges'.
                    st.execute("LOCK TABLE " + first + " IN ROW EXCLUSIVE MODE");
                }
                waitedMillis = (System.nanoTime() - before) / 1_000_000;
                writer.commit();
            }
            assertTrue(waitedMillis >= 300, "the transaction did not wait for the new owner (" + waitedMillis
                    + " ms): no deadlock happened, the test proves nothing");
            JsonNode answer = applied.get(2, TimeUnit.MINUTES);
            assertTrue(answer.get("changed").asBoolean(), answer.toString());
            for (String table : TABLES) {
                assertEquals(1, Checksums.count(dst, DB, "SELECT count(*) FROM pg_class WHERE oid = '" + table
                        + "'::regclass AND relowner::regrole::text <> 'prlock_interim'"), table + " has its owner back");
            }
            assertTrue(flow.privileges(true).at("/privileges/equal").asBoolean(), "equal to the source's after");
        } finally {
            if (System.getenv("PGFERRY_KEEP_CLUSTERS") == null) {
                src.destroy();
                dst.destroy();
            }
        }
    }

    /** The two tables in the order the step gives them their owners (what check mode says it would run). */
    private static List<String> ownerOrder(JsonNode check) {
        List<String> order = new ArrayList<>();
        for (JsonNode q : check.get("queries")) {
            for (String table : TABLES) {
                if (q.asText().startsWith("ALTER TABLE " + table + " OWNER TO") && !order.contains(table)) {
                    order.add(table);
                }
            }
        }
        assertEquals(2, order.size(), "both tables get their owners back: " + check.get("queries"));
        return order;
    }

    private static void awaitOwnerWaiting(PgCluster cluster, String table, CompletableFuture<JsonNode> applied)
            throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofMinutes(1));
        while (Instant.now().isBefore(deadline) && !applied.isDone()) {
            if (Checksums.count(cluster, DB, "SELECT count(*) FROM pg_locks WHERE NOT granted AND mode = "
                    + "'AccessExclusiveLock' AND relation = '" + table + "'::regclass") > 0) {
                return;
            }
            Thread.sleep(50);
        }
        fail("the privileges step never waited to give " + table + " its owner; it answered "
                + (applied.isDone() ? applied.join() : "nothing"));
    }

    private static String path(String step) {
        return "/v1/migrations/" + M + "/" + step;
    }
}
