package io.pgferry.agent.copy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * pgferry's own initial copy between two real clusters: the hostile schema (quoted and unicode names, extension
 * and user types, generated columns, partitions, toasted values) plus a table big enough to be split in ranges and
 * a key-less one, copied while writes go on, then streamed; a copy killed in the middle and rerun; many small
 * tables; and the reruns it must refuse. Every table is compared row for row with the source at the end.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class CopyContract {
    /**
     * Added to rich.sql: a table split into ctid ranges (piece_bytes below), whose primary key (a quoted name, an
     * INCLUDE column, a fillfactor, clustered on, the replica identity, a comment) is built beside its other indexes
     * and attached last; and one without a key.
     */
    static final String EXTRA = """
            CREATE TABLE public.big (id bigint, pad text NOT NULL, n int,
              CONSTRAINT "Big ""Key"" é" PRIMARY KEY (id) INCLUDE (n) WITH (fillfactor = 90));
            INSERT INTO public.big SELECT g, md5(g::text) || md5((g * 3)::text), g %% 1000
              FROM generate_series(1, %d) g;
            CREATE UNIQUE INDEX big_pad ON public.big (pad);
            CREATE INDEX big_n ON public.big (n);
            ALTER TABLE public.big CLUSTER ON "Big ""Key"" é";
            ALTER TABLE public.big REPLICA IDENTITY USING INDEX "Big ""Key"" é";
            COMMENT ON CONSTRAINT "Big ""Key"" é" ON public.big IS 'the key';
            CREATE TABLE public.keyless (a int, b text);
            INSERT INTO public.keyless SELECT g, 'k' || g FROM generate_series(1, 300) g;
            CREATE TABLE public.empty_one (id int PRIMARY KEY);
            """;
    private static final Map<String, Object> KEYLESS = Map.of("replica_identity_full",
            List.of(Map.of("schema", "public", "name", "keyless")));

    PgCluster src;
    PgCluster dst;
    Path dir;
    AgentHandle source;
    AgentHandle target;

    abstract int sourceMajor();

    abstract int targetMajor();

    @BeforeAll
    void start() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        src = PgCluster.create("copy-src-" + sourceMajor() + "-" + run, sourceMajor());
        dst = PgCluster.create("copy-dst-" + targetMajor() + "-" + run, targetMajor());
        dir = Files.createTempDirectory("pgferry-copy");
        source = AgentHandle.start(src, dir.resolve("source"));
        target = AgentHandle.start(dst, dir.resolve("target"));
    }

    @AfterAll
    void stop() throws Exception {
        if (source != null) {
            source.close();
        }
        if (target != null) {
            target.close();
        }
        if (src != null) {
            src.destroy();
        }
        if (dst != null) {
            dst.destroy();
        }
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private void load(String database, int bigRows) throws Exception {
        Sql.execute(src, "postgres", "CREATE DATABASE " + database);
        Sql.execute(src, database, Files.readString(PgBedTool.repoRoot().resolve("fixtures/rich.sql")));
        Sql.execute(src, database, EXTRA.formatted(bigRows));
    }

    private CopyFlow flow(String database, AgentApi targetApi) {
        return new CopyFlow(database, database, src, AgentApi.of(source), targetApi, "copy pässword '" + database
                + "' \\", Map.of());
    }

    @Test
    @Order(1)
    void copiesEveryTableInTheSlotsSnapshotWhileWritesGoOn() throws Exception {
        load("app", 60_000);
        CopyFlow flow = flow("app", AgentApi.of(target));
        flow.prepare(KEYLESS);
        flow.copyOptions.put("piece_bytes", 1024 * 1024);
        try (Writes writes = Writes.start(src, "app")) {
            JsonNode result = flow.copy();
            assertEquals("copied", result.at("/summary/outcome").asText(), result.toString());
            assertEquals("done", result.at("/summary/status").asText());
            assertTrue(result.at("/subscription/exists").asBoolean(), result.toString());
            assertTrue(result.at("/summary/binary_tables").asInt() > 0, "some tables go in binary: " + result);
            String queries = result.get("queries").toString();
            assertTrue(queries.contains("CREATE_REPLICATION_SLOT pgferry_app LOGICAL pgoutput"), queries);
            assertTrue(queries.contains("create_slot = false") && queries.contains("copy_data = false"), queries);
            assertFalse(queries.contains(flow.password), "the password came back in queries");
            assertTrue(queries.contains("primary keys as CREATE UNIQUE INDEX beside their table's other indexes"),
                    queries);
            writes.awaitSome(200);
        }
        flow.awaitCaughtUp();
        Sql.awaitEqual(src, dst, "app");

        JsonNode view = flow.copyView();
        assertEquals("done", view.get("status").asText());
        List<String> notReady = new ArrayList<>();
        for (JsonNode t : view.get("tables")) {
            if (!t.get("state").asText().equals("ready") || t.get("rows_read").asLong() != t.get("rows_written")
                    .asLong()) {
                notReady.add(t.toString());
            }
        }
        assertTrue(notReady.isEmpty(), "every table ready, rows read = rows written: " + notReady);
        JsonNode big = find(view.get("tables"), "public", "big");
        assertEquals("binary", big.get("format").asText());
        assertEquals("text", find(view.get("tables"), "Sales Dept", "Customer Accounts").get("format").asText(),
                "hstore, citext and a composite type go as text");
        // Keys and indexes: the same names and definitions as the source's, built by the copy.
        assertEquals(Sql.indexes(src, "app"), Sql.indexes(dst, "app"));
        assertEquals(Sql.keys(src, "app"), Sql.keys(dst, "app"));
        assertEquals(11L, Sql.count(dst, "app", "SELECT count(*) FROM pg_subscription_rel r JOIN pg_subscription s "
                + "ON s.oid = r.srsubid WHERE s.subname = 'pgferry_app' AND r.srsubstate = 'r'"));
        JsonNode sync = CopyFlow.ok(target.get(flow.path("sync-status") + "?database=app"));
        assertTrue(sync.get("all_ready").asBoolean(), sync.toString());
        assertEquals("done", sync.at("/own_copy/status").asText(), sync.toString());

        JsonNode again = flow.copy();
        assertFalse(CopyFlow.ok(target.post(flow.path("copy"), flow.body("connection", flow.connection(),
                "check", true))).get("changed").asBoolean());
        assertEquals("unchanged", again.at("/summary/outcome").asText());
        assertEquals(1L, Sql.count(src, "app", "SELECT count(*) FROM pg_replication_slots "
                + "WHERE slot_name = 'pgferry_app'"));
        for (String body : target.bodies()) {
            assertFalse(body.contains(flow.password), "a password leaked into a response: " + body);
        }
    }

    @Test
    @Order(2)
    void aCopyKilledInTheMiddleIsCopiedAgainUnderANewSlot() throws Exception {
        load("killed", 200_000);
        try (KillableAgent agent = KillableAgent.start(dst, dir.resolve("target-killed"))) {
            CopyFlow flow = flow("killed", agent);
            flow.prepare(KEYLESS);
            flow.copyOptions.putAll(Map.of("jobs", 1, "piece_bytes", 4 * 1024 * 1024));
            String firstLsn;
            try (Writes writes = Writes.start(src, "killed");
                 java.sql.Connection blocker = dst.connect("killed")) {
                // Holds the copy in the middle, deterministically: the big table goes first (biggest first) and is
                // committed piece by piece; the tiny tables' INSERTs then wait for this lock.
                blocker.setAutoCommit(false);
                try (java.sql.Statement st = blocker.createStatement()) {
                    st.execute("LOCK TABLE \"order\".\"table\" IN SHARE MODE");
                }
                CopyFlow.ok(flow.startCopy());
                JsonNode view = awaitMidCopy(flow);
                agent.kill();
                blocker.rollback();
                assertTrue(view.at("/progress/tables_copied").asInt() < view.at("/progress/tables_total").asInt(),
                        "killed in the middle: " + view);
                // The walsender notices its client is gone on its next read.
                Instant until = Instant.now().plusSeconds(20);
                while (Sql.count(src, "killed", "SELECT count(*) FROM pg_replication_slots WHERE slot_name = "
                        + "'pgferry_killed' AND NOT active") != 1 && Instant.now().isBefore(until)) {
                    Thread.sleep(100);
                }
                assertEquals(1L, Sql.count(src, "killed", "SELECT count(*) FROM pg_replication_slots "
                        + "WHERE slot_name = 'pgferry_killed' AND NOT active"), "the killed copy's slot is left");
                assertEquals(0L, Sql.count(dst, "killed", "SELECT count(*) FROM pg_subscription "
                        + "WHERE subname = 'pgferry_killed'"));
                firstLsn = Sql.text(src, "killed", "SELECT confirmed_flush_lsn::text FROM pg_replication_slots "
                        + "WHERE slot_name = 'pgferry_killed'");
                assertTrue(Sql.count(dst, "killed", "SELECT count(*) FROM public.big") > 0,
                        "some rows were copied before the kill");

                agent.restart();
                JsonNode interrupted = flow.copyView();
                assertEquals("copying", interrupted.get("status").asText(), interrupted.toString());
                JsonNode result = flow.copy();
                assertEquals("recopied", result.at("/summary/outcome").asText(), result.toString());
                assertNotEquals(firstLsn, result.at("/summary/consistent_lsn").asText(), "a new slot");
                String queries = result.get("queries").toString();
                assertTrue(queries.contains("pg_drop_replication_slot('pgferry_killed')"), queries);
                assertTrue(queries.contains("TRUNCATE"), queries);
                writes.awaitSome(200);
            }
            flow.awaitCaughtUp();
            Sql.awaitEqual(src, dst, "killed");
            assertEquals(1L, Sql.count(src, "killed", "SELECT count(*) FROM pg_replication_slots "
                    + "WHERE slot_name = 'pgferry_killed'"));
        }
    }

    @Test
    @Order(3)
    void manySmallTablesGoThroughAFewSessions() throws Exception {
        int tables = Integer.getInteger("pgferry.copy.many", 150);
        Sql.execute(src, "postgres", "CREATE DATABASE many");
        Sql.execute(src, "many", """
                DO $$ BEGIN
                  FOR s IN 1..3 LOOP
                    EXECUTE format('CREATE SCHEMA %%I', 's' || s);
                    FOR t IN 1..%d LOOP
                      EXECUTE format('CREATE TABLE %%I.%%I (id int PRIMARY KEY, v text)', 's' || s, 't' || t);
                      EXECUTE format('CREATE INDEX ON %%I.%%I (v)', 's' || s, 't' || t);
                      EXECUTE format('INSERT INTO %%I.%%I VALUES (1, %%L)', 's' || s, 't' || t, 'row of ' || t);
                    END LOOP;
                  END LOOP;
                END $$;""".formatted(tables / 3));
        CopyFlow flow = flow("many", AgentApi.of(target));
        flow.prepare(Map.of());
        Instant started = Instant.now();
        JsonNode result = flow.copy();
        System.out.printf("copy of %d one-row tables: %d ms (%s)%n", tables,
                Duration.between(started, Instant.now()).toMillis(), result.get("summary"));
        assertEquals(tables, result.at("/summary/tables").asInt());
        assertEquals(tables, result.at("/summary/rows").asLong());
        assertEquals(tables, Sql.count(dst, "many", "SELECT count(*) FROM pg_subscription_rel r JOIN pg_subscription s "
                + "ON s.oid = r.srsubid WHERE s.subname = 'pgferry_many'"));
        assertEquals(2L * tables, Sql.count(dst, "many", "SELECT count(*) FROM pg_indexes WHERE schemaname ~ '^s'"));
        flow.awaitCaughtUp();
        Sql.awaitEqual(src, dst, "many");
    }

    @Test
    @Order(4)
    void refusesWhatItCannotProveIsItsOwn() throws Exception {
        Sql.execute(src, "postgres", "CREATE DATABASE refused");
        Sql.execute(src, "refused", Files.readString(PgBedTool.repoRoot().resolve("fixtures/basic.sql")));
        CopyFlow flow = flow("refused", AgentApi.of(target));
        flow.prepare(Map.of());

        Sql.execute(dst, "refused", "INSERT INTO included.customers (name) VALUES ('not from the source')");
        assertFailed(flow, "target_tables_not_empty");
        assertEquals(0L, Sql.count(src, "refused", "SELECT count(*) FROM pg_replication_slots "
                + "WHERE slot_name = 'pgferry_refused'"), "nothing made");

        Sql.execute(dst, "refused", "TRUNCATE included.customers");
        Sql.execute(src, "refused", "SELECT pg_create_logical_replication_slot('pgferry_refused', 'pgoutput')");
        assertFailed(flow, "slot_conflict");
        Sql.execute(src, "refused", "SELECT pg_drop_replication_slot('pgferry_refused')");

        assertEquals("copied", flow.copy().at("/summary/outcome").asText());
        // As a cutover leaves it: the subscription and its slot dropped, writes on the target since.
        Sql.execute(dst, "refused", "DROP SUBSCRIPTION pgferry_refused");
        assertFailed(flow, "copy_finished");
        assertTrue(Sql.count(dst, "refused", "SELECT count(*) FROM included.customers") > 0, "nothing emptied");
    }

    private static void assertFailed(CopyFlow flow, String code) throws Exception {
        JsonNode job = CopyFlow.jobEnd(flow.target, flow.startCopy());
        assertEquals("failed", job.get("state").asText(), job.toString());
        assertEquals(code, job.at("/error/code").asText(), job.toString());
    }

    /** Until the big table's rows are committed on the target and the tiny tables wait for the blocker's lock. */
    private JsonNode awaitMidCopy(CopyFlow flow) throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofMinutes(3));
        while (Instant.now().isBefore(deadline)) {
            if (Sql.count(dst, flow.database, "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
                    + "'\"order\".\"table\"'::regclass") > 0
                    && Sql.count(dst, flow.database, "SELECT count(*) FROM public.big") > 0) {
                return CopyFlow.ok(flow.target.get(flow.path("copy") + "?database=" + flow.database));
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the copy was never seen waiting in the middle: "
                + CopyFlow.ok(flow.target.get(flow.path("copy") + "?database=" + flow.database)));
    }

    private static JsonNode find(JsonNode tables, String schema, String name) {
        for (JsonNode t : tables) {
            if (t.get("schema").asText().equals(schema) && t.get("name").asText().equals(name)) {
                return t;
            }
        }
        throw new AssertionError("no table " + schema + "." + name + " in " + tables);
    }
}
