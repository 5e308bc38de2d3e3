package io.pgferry.agent.preflight;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.testbed.AgentFixture;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The preflight on real clusters (PostgreSQL 14 and 18, an agent beside each): every finding that can be provoked
 * on a test cluster is, and around every call the catalogs of both clusters must be unchanged.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PreflightTest {
    private static final String ROLE_PASSWORD = "clean-" + UUID.randomUUID();
    private static final String BLOCKED_PASSWORD = "blocked-" + UUID.randomUUID();

    PgCluster a14;
    PgCluster b18;
    AgentHandle agentA;
    AgentHandle agentB;
    Path dir;

    @BeforeAll
    void start() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        a14 = PgCluster.create("preflight-a14-" + run, 14);
        b18 = PgCluster.create("preflight-b18-" + run, 18);
        dir = Files.createTempDirectory("pgferry-preflight");
        agentA = AgentHandle.start(a14, dir.resolve("a"));
        agentB = AgentHandle.start(b18, dir.resolve("b"));
    }

    @AfterAll
    void stop() throws Exception {
        for (AgentHandle agent : new AgentHandle[] {agentA, agentB}) {
            if (agent == null) {
                continue;
            }
            for (String body : agent.bodies()) {
                assertFalse(body.contains(ROLE_PASSWORD), "a password leaked into a response: " + body);
                assertFalse(body.contains(BLOCKED_PASSWORD), "a password leaked into a response: " + body);
                assertFalse(body.contains("wrong-password-x"), "a password leaked into a response: " + body);
            }
            agent.close();
        }
        for (PgCluster c : new PgCluster[] {a14, b18}) {
            if (c != null) {
                c.destroy();
            }
        }
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    @Order(1)
    void serverSettingsTooLowAreFound() throws Exception {
        sql(a14, "postgres", "CREATE DATABASE tight");
        sql(a14, "tight", "CREATE TABLE t (id int PRIMARY KEY)");
        List<String> settings = List.of("wal_level = 'replica'", "max_replication_slots = 0", "max_wal_senders = 0",
                "max_logical_replication_workers = 0", "max_sync_workers_per_subscription = 0",
                "max_worker_processes = 0");
        try {
            for (String s : settings) {
                sql(a14, "postgres", "ALTER SYSTEM SET " + s);
            }
            a14.stop();
            a14.start();
            JsonNode source = preflight(agentA, source("tight"));
            assertFalse(source.get("ok").asBoolean(), source.toString());
            assertFinding(source, "wal_level_not_logical", "error", "wal_level=replica");
            assertFinding(source, "too_few_replication_slots", "error", "max_replication_slots=0");
            assertFinding(source, "too_few_wal_senders", "error", "max_wal_senders=0");

            JsonNode target = preflight(agentA, target("tight"));
            assertFalse(target.get("ok").asBoolean(), target.toString());
            assertFinding(target, "too_few_sync_workers", "error", "max_sync_workers_per_subscription=0");
            assertFinding(target, "too_few_logical_replication_workers", "error",
                    "max_logical_replication_workers=0");
            assertFinding(target, "too_few_worker_processes", "error", "max_worker_processes=0");
            assertTrue(target.get("notes").toString().contains("wal_retrieve_retry_interval (5000 ms)"),
                    "PostgreSQL 14's launcher pace is told: " + target.get("notes"));
        } finally {
            for (String s : settings) {
                sql(a14, "postgres", "ALTER SYSTEM RESET " + s.substring(0, s.indexOf(' ')));
            }
            a14.stop();
            a14.start();
        }
        assertEquals("logical", one(a14, "postgres", "SHOW wal_level"));
    }

    @Test
    @Order(2)
    void cleanDatabaseHasNoFindings() throws Exception {
        sql(a14, "postgres", "CREATE DATABASE clean");
        sql(a14, "clean", Files.readString(PgBedTool.repoRoot().resolve("fixtures/basic.sql")));
        sql(a14, "clean", "CREATE ROLE pgferry_clean LOGIN REPLICATION PASSWORD '" + ROLE_PASSWORD + "'; "
                + "GRANT USAGE ON SCHEMA included TO pgferry_clean; "
                + "GRANT SELECT ON ALL TABLES IN SCHEMA included TO pgferry_clean");
        // A bounded slot: else the WAL retention warning (LifecycleStepsTest) is a finding of every default cluster.
        sql(a14, "postgres", "ALTER SYSTEM SET max_slot_wal_keep_size = '64MB'");
        sql(a14, "postgres", "SELECT pg_reload_conf()");
        Map<String, Object> body = source("clean");
        body.put("exclude_schemas", List.of("excluded"));
        JsonNode source = preflight(agentA, "clean", body);
        assertTrue(source.get("ok").asBoolean(), source.toString());
        assertEquals(0, source.get("findings").size(), source.toString());
        assertEquals(64L << 20, source.at("/facts/max_slot_wal_keep_size_bytes").asLong(), source.toString());
        assertEquals(14, source.at("/facts/major").asInt());
        assertTrue(source.at("/facts/replication_role_exists").asBoolean());
        assertTrue(source.at("/facts/database_size_bytes").asLong() > 0);
        assertEquals(2, source.at("/facts/tables_in_scope").asInt());

        Map<String, Object> t = target("clean");
        t.put("exclude_schemas", List.of("excluded"));
        t.put("source_major", 14);
        t.put("source_size_bytes", source.at("/facts/database_size_bytes").asLong());
        t.put("expected_extensions", List.of("plpgsql"));
        t.put("connection", connection("pgferry_clean", ROLE_PASSWORD, "clean"));
        JsonNode target = preflight(agentB, "clean", t);
        assertTrue(target.get("ok").asBoolean(), target.toString());
        assertEquals(0, target.get("findings").size(), target.toString());
        assertFalse(target.get("notes").toString().contains("wal_retrieve_retry_interval"),
                "PostgreSQL 18 paces apply workers per subscription: " + target.get("notes"));
        assertFalse(target.at("/facts/database_exists").asBoolean());
        assertTrue(target.at("/facts/source_reachable").asBoolean());
        assertEquals(14, target.at("/facts/source_major").asInt());
        assertEquals("target_host", target.at("/facts/source_connection_tested_from").asText());
        assertTrue(target.at("/facts/data_directory_free_bytes").asLong() > 0, target.toString());

        // Before the replication_role step the role does not exist: a failed login is expected, not an error.
        t.put("connection", connection("pgferry_notyet", "wrong-password-x", "clean"));
        t.put("replication_role_exists", false);
        JsonNode early = preflight(agentB, "clean", t);
        assertTrue(early.get("ok").asBoolean(), early.toString());
        assertFinding(early, "source_auth_failed", "warning", "pgferry_notyet");
    }

    @Test
    @Order(3)
    void sourceProblemsAreFound() throws Exception {
        sql(a14, "postgres", "CREATE DATABASE messy");
        sql(a14, "messy", """
                CREATE TABLE public.keyed (id int PRIMARY KEY);
                CREATE TABLE public.keyless (a int, b text);
                CREATE TABLE public.deferred (id int PRIMARY KEY DEFERRABLE, v int);
                CREATE UNIQUE INDEX deferred_id ON public.deferred (id);
                CREATE TABLE public.indexed (a int NOT NULL, b int);
                CREATE UNIQUE INDEX indexed_a ON public.indexed (a);
                CREATE UNIQUE INDEX indexed_b ON public.indexed (b);
                CREATE UNLOGGED TABLE public.scratch (id int PRIMARY KEY);
                CREATE MATERIALIZED VIEW public.mv AS SELECT count(*) FROM public.keyed;
                SELECT lo_create(0);
                CREATE ROLE pgferry_messy LOGIN;
                CREATE PUBLICATION pgferry_messy FOR ALL TABLES;
                """);
        sql(a14, "messy", "SELECT pg_create_logical_replication_slot('pgferry_messy', 'test_decoding')");
        try {
            JsonNode plain = preflight(agentA, "messy", source("messy"));
            assertFalse(plain.get("ok").asBoolean());
            assertFinding(plain, "table_without_replica_identity", "error", "\"public\".\"keyless\"");
            assertFinding(plain, "table_without_replica_identity", "error", "\"public\".\"indexed\"");
            // PostgreSQL takes no DEFERRABLE key as replica identity: UPDATE would fail once published
            assertFinding(plain, "table_without_replica_identity", "error", "\"public\".\"deferred\"");
            assertTrue(finding(plain, "table_without_replica_identity").get("message").asText()
                    .contains("(\"public\".\"deferred\": a DEFERRABLE primary key"), plain.toString());
            assertFinding(plain, "unlogged_tables", "error", "\"public\".\"scratch\"");
            assertFinding(plain, "materialized_views", "warning", "\"public\".\"mv\"");
            assertFinding(plain, "large_objects_present", "warning", "1 large objects");
            assertFinding(plain, "tables_not_readable", "warning", "\"public\".\"keyed\"");
            assertFinding(plain, "publication_conflict", "error", "\"pgferry_messy\"");
            assertFinding(plain, "slot_conflict", "error", "pgferry_messy");

            Map<String, Object> optIn = source("messy");
            optIn.put("exclude_tables", List.of(table("public", "scratch")));
            optIn.put("replica_identity_full", List.of(table("public", "keyless")));
            optIn.put("replica_identity_index", List.of(Map.of("schema", "public", "name", "indexed",
                    "index", "indexed_b")));
            optIn.put("skip_large_objects", true);
            JsonNode opted = preflight(agentA, "messy", optIn);
            assertFinding(opted, "table_without_replica_identity", "warning", "\"public\".\"keyless\"");
            assertFinding(opted, "table_without_replica_identity", "error", "\"public\".\"indexed\": index "
                    + "\"indexed_b\" covers a column that allows NULL");
            assertFinding(opted, "large_objects_present", "warning", "1 large objects");
            assertNoFinding(opted, "unlogged_tables");

            optIn.put("replica_identity_index", List.of(Map.of("schema", "public", "name", "indexed",
                    "index", "indexed_a"), Map.of("schema", "public", "name", "deferred", "index", "deferred_id")));
            JsonNode good = preflight(agentA, "messy", optIn);
            assertFinding(good, "table_without_replica_identity", "warning",
                    "\"public\".\"indexed\" USING INDEX \"indexed_a\"");
            assertFinding(good, "table_without_replica_identity", "warning",
                    "\"public\".\"deferred\" USING INDEX \"deferred_id\"");
            assertTrue(good.get("findings").findValuesAsText("severity").stream()
                    .filter("error"::equals).count() == 2, good.toString()); // only the slot and the publication
        } finally {
            sql(a14, "messy", "SELECT pg_drop_replication_slot('pgferry_messy')");
        }

        sql(a14, "postgres", "CREATE DATABASE members");
        sql(a14, "members", "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY); "
                + "CREATE TABLE c (id int PRIMARY KEY); CREATE PUBLICATION pgferry_members FOR TABLE a, c");
        Map<String, Object> members = source("members");
        members.put("exclude_tables", List.of(table("public", "c")));
        JsonNode differs = preflight(agentA, "members", members);
        assertTrue(differs.get("ok").asBoolean(), differs.toString());
        assertFinding(differs, "publication_conflict", "warning", "add \"public\".\"b\"");
        assertFinding(differs, "publication_conflict", "warning", "drop \"public\".\"c\"");

        // Once its slot exists the stream has begun: the same scope is refused, naming each table.
        sql(a14, "members", "SELECT pg_create_logical_replication_slot('pgferry_members', 'pgoutput')");
        try {
            JsonNode running = preflight(agentA, "members", members);
            assertFalse(running.get("ok").asBoolean(), running.toString());
            assertFinding(running, "scope_changed", "error", "add \"public\".\"b\"");
            assertFinding(running, "scope_changed", "error", "drop \"public\".\"c\"");
            assertNoFinding(running, "publication_conflict");
        } finally {
            sql(a14, "members", "SELECT pg_drop_replication_slot('pgferry_members')");
        }
        // Another migration of the same database, whatever its tables: one database moves in one migration.
        sql(a14, "members", "CREATE PUBLICATION \"pgferry_Zwei Mig\" FOR TABLE b");
        try {
            JsonNode other = preflight(agentA, "members", members);
            assertFalse(other.get("ok").asBoolean(), other.toString());
            assertFinding(other, "other_migration", "error", "\"pgferry_Zwei Mig\"");
        } finally {
            sql(a14, "members", "DROP PUBLICATION \"pgferry_Zwei Mig\"");
        }
    }

    /** The apply finds a REPLICA IDENTITY FULL row by comparing every column: a type without equality stops it. */
    @Test
    @Order(3)
    void fullRowIdentityNeedsComparableColumns() throws Exception {
        sql(a14, "postgres", "CREATE DATABASE \"whole Rows\"");
        sql(a14, "whole Rows", """
                CREATE SCHEMA "Lo""gs";
                CREATE TYPE "Lo""gs".pair AS (a int, j json);
                CREATE TYPE "Lo""gs".okpair AS (a int, t varchar);
                CREATE TYPE "Lo""gs".mood AS ENUM ('a', 'b');
                CREATE DOMAIN "Lo""gs".jd AS json;
                CREATE TABLE "Lo""gs"."Asked" (a int, "J" json, p point, x xml, arr json[], pr "Lo""gs".pair,
                                               d "Lo""gs".jd, gen text GENERATED ALWAYS AS (a::text) STORED);
                CREATE TABLE "Lo""gs".set (id int, b box);
                ALTER TABLE "Lo""gs".set REPLICA IDENTITY FULL;
                CREATE TABLE "Lo""gs".fine (a int, v varchar(3), ok jsonb, e int[], r tstzrange, m "Lo""gs".mood,
                                            c "Lo""gs".okpair, n numeric, t text, h inet);
                ALTER TABLE "Lo""gs".fine REPLICA IDENTITY FULL;
                CREATE TABLE "Lo""gs".keyed (id int PRIMARY KEY, j json);
                """);
        Map<String, Object> body = source("whole Rows");
        body.put("replica_identity_full", List.of(table("Lo\"gs", "Asked"), table("Lo\"gs", "keyed")));
        JsonNode answer = preflight(agentA, "whole", body);
        assertFalse(answer.get("ok").asBoolean(), answer.toString());
        List<String> named = new ArrayList<>();
        finding(answer, "replica_identity_full_uncomparable").get("objects").forEach(o -> named.add(o.asText()));
        String asked = "\"Lo\"\"gs\".\"Asked\".";
        assertEquals(List.of(asked + "\"J\" (json)", asked + "\"p\" (point)", asked + "\"x\" (xml)",
                asked + "\"arr\" (json[])", asked + "\"pr\" (\"Lo\"\"gs\".pair)", asked + "\"d\" (\"Lo\"\"gs\".jd)",
                "\"Lo\"\"gs\".\"set\".\"b\" (box)"), named, "the keyed table and every comparable type are left out");
        assertEquals("error", finding(answer, "replica_identity_full_uncomparable").get("severity").asText());
    }

    /** What the scope leaves out but its objects need: named on the source, looked up in the target database. */
    @Test
    @Order(3)
    void objectsNeedingWhatTheScopeLeavesOutAreFound() throws Exception {
        sql(a14, "postgres", "CREATE DATABASE \"needs Out\"");
        sql(a14, "needs Out", """
                CREATE SCHEMA "Ut""il";
                CREATE TYPE "Ut""il".kind AS ENUM ('a');
                CREATE FUNCTION "Ut""il".code() RETURNS text LANGUAGE sql AS $$ SELECT 'c' $$;
                CREATE TABLE public.items (id int PRIMARY KEY, k "Ut""il".kind, c text DEFAULT "Ut""il".code());
                CREATE TABLE public.gone (id int PRIMARY KEY, s serial);
                CREATE TABLE public.refs (id int PRIMARY KEY, g int REFERENCES public.gone (id));
                CREATE VIEW public.fine AS SELECT id FROM public.items;
                CREATE SCHEMA "Sa les";
                CREATE TYPE "Sa les"."Mood" AS ENUM ('a');
                CREATE TABLE "Sa les"."Ord ers" (id serial PRIMARY KEY, m "Sa les"."Mood", i int REFERENCES public.items);
                CREATE VIEW "Sa les".v AS SELECT o.id FROM "Sa les"."Ord ers" o JOIN public.items USING (id);
                """);
        Map<String, Object> body = source("needs Out");
        body.put("exclude_schemas", List.of("Ut\"il"));
        body.put("exclude_tables", List.of(table("public", "gone")));
        JsonNode source = preflight(agentA, "needs", body);
        List<String> named = new ArrayList<>();
        finding(source, "outside_dependencies").get("objects").forEach(o -> named.add(o.asText()));
        // gone's sequence is dumped without its OWNED BY; the views and "Sa les" need only what the scope carries
        assertEquals(List.of("column k of table items needs type \"Ut\"\"il\".kind",
                "constraint refs_g_fkey on table refs needs index gone_pkey",
                "constraint refs_g_fkey on table refs needs table gone",
                "default value for column c of table items needs function \"Ut\"\"il\".code()"), named);
        assertEquals("warning", finding(source, "outside_dependencies").get("severity").asText());

        Map<String, Object> target = target("needs Out");
        target.put("source_outside_dependencies", source.get("facts").get("outside_dependencies"));
        JsonNode absent = preflight(agentB, "needs", target);
        assertEquals("error", finding(absent, "outside_dependencies_missing").get("severity").asText());
        assertEquals(4, finding(absent, "outside_dependencies_missing").get("objects").size(), absent.toString());

        sql(b18, "postgres", "CREATE DATABASE \"needs Out\"");
        sql(b18, "needs Out", """
                CREATE SCHEMA "Ut""il";
                CREATE TYPE "Ut""il".kind AS ENUM ('a');
                CREATE FUNCTION "Ut""il".code() RETURNS text LANGUAGE sql AS $$ SELECT 't' $$;
                """);
        List<String> lacking = new ArrayList<>();
        finding(preflight(agentB, "needs", target), "outside_dependencies_missing").get("objects")
                .forEach(o -> lacking.add(o.asText()));
        assertEquals(List.of("constraint refs_g_fkey on table refs needs index gone_pkey",
                "constraint refs_g_fkey on table refs needs table gone"), lacking, "the rest is there");
        sql(b18, "needs Out", "CREATE TABLE public.gone (id int PRIMARY KEY)");
        assertNoFinding(preflight(agentB, "needs", target), "outside_dependencies_missing");
    }

    @Test
    @Order(3)
    void whatIsNotMovedIsNamed() throws Exception {
        sql(a14, "postgres", "CREATE DATABASE behind");
        sql(a14, "behind", """
                CREATE EXTENSION postgres_fdw;
                CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'elsewhere');
                CREATE TABLE public.t (id int PRIMARY KEY);
                CREATE UNLOGGED TABLE public."Scratch ü" (a int);
                CREATE FOREIGN TABLE public.remote_t (id int) SERVER remote;
                CREATE MATERIALIZED VIEW public.mv AS SELECT count(*) FROM public.t;
                CREATE FUNCTION public.noop() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$;
                CREATE EVENT TRIGGER audit_ddl ON ddl_command_end EXECUTE FUNCTION public.noop();
                CREATE PUBLICATION app_pub FOR TABLE public.t;
                CREATE SUBSCRIPTION app_sub CONNECTION 'dbname=nowhere' PUBLICATION p WITH (connect = false);
                """);
        sql(a14, "behind", "SELECT pg_create_logical_replication_slot('cdc', 'test_decoding')");
        try {
            JsonNode refused = preflight(agentA, "behind", source("behind"));
            assertFinding(refused, "unlogged_tables", "error", "\"public\".\"Scratch ü\"");
            assertFinding(refused, "materialized_views", "warning", "\"public\".\"mv\"");

            Map<String, Object> asked = source("behind");
            asked.put("unlogged_tables", "empty");
            asked.put("refresh_materialized_views", true);
            JsonNode told = preflight(agentA, "behind", asked);
            assertTrue(told.get("ok").asBoolean(), "the key-less unlogged table is not published: " + told);
            assertFinding(told, "unlogged_tables", "warning", "\"public\".\"Scratch ü\"");
            assertTrue(finding(told, "materialized_views").get("message").asText().contains("refreshes them"));
            assertFinding(told, "foreign_tables", "warning", "\"public\".\"remote_t\" (server remote)");
            assertFinding(told, "event_triggers", "warning", "audit_ddl (ddl_command_end)");
            assertFinding(told, "publications", "warning", "app_pub");
            assertFinding(told, "subscriptions", "warning", "app_sub");
            assertFinding(told, "replication_slots", "warning", "cdc (test_decoding)");
        } finally {
            sql(a14, "behind", "SELECT pg_drop_replication_slot('cdc')");
            sql(a14, "behind", "ALTER SUBSCRIPTION app_sub DISABLE");
            sql(a14, "behind", "ALTER SUBSCRIPTION app_sub SET (slot_name = NONE)");
            sql(a14, "behind", "DROP SUBSCRIPTION app_sub");
        }
    }

    @Test
    @Order(4)
    void targetProblemsAreFound() throws Exception {
        sql(b18, "postgres", "CREATE DATABASE busy");
        sql(b18, "busy", """
                CREATE TABLE public.full_table (id int PRIMARY KEY);
                INSERT INTO public.full_table VALUES (1);
                CREATE TABLE public.empty_table (id int PRIMARY KEY);
                CREATE SCHEMA other;
                CREATE TABLE other.kept (id int);
                INSERT INTO other.kept VALUES (1);
                """);
        sql(b18, "busy", "CREATE SUBSCRIPTION pgferry_busy CONNECTION 'host=127.0.0.1 port=1 dbname=elsewhere "
                + "user=x password=y' PUBLICATION other WITH (connect = false)");
        // Another migration into the same database: one database is the target of one migration.
        sql(b18, "busy", "CREATE SUBSCRIPTION \"pgferry_Zwei Mig\" CONNECTION 'host=127.0.0.1 port=1 "
                + "dbname=elsewhere user=x password=y' PUBLICATION other WITH (connect = false)");
        Map<String, Object> body = target("busy");
        body.put("exclude_schemas", List.of("other"));
        body.put("source_major", 14);
        body.put("source_size_bytes", 1_000_000_000_000_000L);
        body.put("expected_extensions", List.of("citext", "no_such_extension"));
        body.put("connection", connection("pgferry_clean", ROLE_PASSWORD, "clean"));
        JsonNode found = preflight(agentB, "busy", body);
        assertFalse(found.get("ok").asBoolean());
        assertFinding(found, "target_tables_not_empty", "error", "\"public\".\"full_table\"");
        assertEquals(1, finding(found, "target_tables_not_empty").get("objects").size(), found.toString());
        assertFinding(found, "extensions_missing", "error", "no_such_extension");
        assertEquals(1, finding(found, "extensions_missing").get("objects").size(), found.toString());
        assertFinding(found, "subscription_conflict", "error", "\"pgferry_busy\"");
        assertFinding(found, "other_migration", "error", "\"pgferry_Zwei Mig\"");
        assertFinding(found, "disk_space_low", "error", null);

        // A PostgreSQL 14 target for an 18 source: refused unless allowed.
        Map<String, Object> older = target("nothere");
        older.put("source_major", 18);
        JsonNode refused = preflight(agentA, "nothere", older);
        assertFalse(refused.get("ok").asBoolean());
        assertFinding(refused, "target_older_than_source", "error", "target 14");
        older.put("allow_older_target", true);
        JsonNode allowed = preflight(agentA, "nothere", older);
        assertTrue(allowed.get("ok").asBoolean(), allowed.toString());
        assertFinding(allowed, "target_older_than_source", "warning", "source 18");
    }

    /**
     * Through dblink the target server itself connects; the pgbed builds' dblink loads only on 14 here (the 18
     * build's links against an older system libpq), so that direction is 18 to 14 target, the other 14 to 18.
     */
    @ParameterizedTest(name = "through dblink: {0}")
    @ValueSource(booleans = {false, true})
    @Order(5)
    void sourceConnectionFailuresAreTold(boolean dblink) throws Exception {
        PgCluster sourceCluster = dblink ? b18 : a14;
        AgentHandle targetAgent = dblink ? agentA : agentB;
        PgCluster targetCluster = dblink ? a14 : b18;
        String db = "probe_target";
        sql(targetCluster, "postgres", "CREATE DATABASE " + db);
        if (dblink) {
            sql(targetCluster, db, "CREATE EXTENSION dblink");
        }
        sql(sourceCluster, "postgres", "CREATE DATABASE probe_source");
        sql(sourceCluster, "postgres", "CREATE ROLE pgferry_probe LOGIN REPLICATION PASSWORD '" + ROLE_PASSWORD
                + "'; CREATE ROLE blocked_user LOGIN PASSWORD '" + BLOCKED_PASSWORD + "'");
        Path hba = Path.of(one(sourceCluster, "postgres", "SHOW hba_file"));
        Files.writeString(hba, "host all blocked_user 127.0.0.1/32 reject\n" + Files.readString(hba));
        sql(sourceCluster, "postgres", "SELECT pg_reload_conf()");
        String from = dblink ? "target_server" : "target_host";

        JsonNode ok = probe(targetAgent, db, connection(sourceCluster, "pgferry_probe", ROLE_PASSWORD,
                "probe_source"));
        assertTrue(ok.get("ok").asBoolean(), ok.toString());
        assertEquals(from, ok.at("/facts/source_connection_tested_from").asText(), ok.toString());
        assertEquals(sourceCluster.major(), ok.at("/facts/source_major").asInt(), ok.toString());

        Map<String, Object> refused = connection(sourceCluster, "pgferry_probe", ROLE_PASSWORD, "probe_source");
        refused.put("port", AgentFixture.freePort());
        assertSourceFailure(probe(targetAgent, db, refused), "source_connection_refused", from);

        assertSourceFailure(probe(targetAgent, db, connection(sourceCluster, "pgferry_probe", "wrong-password-x",
                "probe_source")), "source_auth_failed", from);

        Map<String, Object> unresolved = connection(sourceCluster, "pgferry_probe", ROLE_PASSWORD, "probe_source");
        unresolved.put("host", "nonexistent.invalid");
        assertSourceFailure(probe(targetAgent, db, unresolved), "source_name_unresolved", from);

        assertSourceFailure(probe(targetAgent, db, connection(sourceCluster, "blocked_user", BLOCKED_PASSWORD,
                "probe_source")), "source_pg_hba_rejected", from);

        assertSourceFailure(probe(targetAgent, db, connection(sourceCluster, "pgferry_probe", ROLE_PASSWORD,
                "no_such_db")), "source_database_missing", from);
    }

    @Test
    @Order(3)
    void scopeThatSplitsATableIsRefused() throws Exception {
        sql(a14, "postgres", "CREATE DATABASE split");
        sql(a14, "split", """
                CREATE SCHEMA "Pä rts";
                CREATE SCHEMA "Arch""ive";
                CREATE TABLE "Pä rts".ev (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
                CREATE TABLE "Pä rts".ev_new PARTITION OF "Pä rts".ev FOR VALUES FROM ('2025-01-01') TO (MAXVALUE)
                    PARTITION BY RANGE (at);
                CREATE TABLE "Arch""ive".ev_2025 PARTITION OF "Pä rts".ev_new
                    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
                CREATE TABLE "Arch""ive".ev_old PARTITION OF "Pä rts".ev FOR VALUES FROM (MINVALUE) TO ('2025-01-01');
                CREATE TABLE "Pä rts".parent (id int PRIMARY KEY);
                CREATE TABLE "Pä rts".kid () INHERITS ("Pä rts".parent);
                CREATE TABLE "Arch""ive".old_kid () INHERITS ("Pä rts".parent);
                """);
        Map<String, Object> body = source("split");
        body.put("exclude_schemas", List.of("Arch\"ive"));
        body.put("exclude_tables", List.of(table("Pä rts", "kid")));
        Answer refused = agentA.post("/v1/migrations/split/preflight", body);
        assertEquals(422, refused.status(), refused.body().toString());
        assertEquals("scope_splits_tables", refused.body().get("code").asText());
        List<String> named = new ArrayList<>();
        refused.body().get("objects").forEach(o -> named.add(o.asText()));
        assertEquals(List.of("\"Arch\"\"ive\".\"ev_2025\" (partition of \"Pä rts\".\"ev\")",
                "\"Arch\"\"ive\".\"ev_old\" (partition of \"Pä rts\".\"ev\")",
                "\"Arch\"\"ive\".\"old_kid\" (inheritance child of \"Pä rts\".\"parent\")",
                "\"Pä rts\".\"kid\" (inheritance child of \"Pä rts\".\"parent\")"), named);

        body.put("exclude_tables", List.of(table("Pä rts", "kid"), table("Pä rts", "parent"), table("Pä rts", "ev")));
        assertTrue(preflight(agentA, "split", body).has("findings"), "the parents left out too: nothing is split");
        body.remove("exclude_tables");
        body.put("exclude_schemas", List.of());
        assertTrue(preflight(agentA, "split", body).has("findings"), "everything in scope: nothing is split");
    }

    /** The target database is made, or must be, as the source's: text sorts and compares as the application knows. */
    @Test
    @Order(3)
    void targetDatabaseHasTheSourcesLocale() throws Exception {
        sql(a14, "postgres", "CREATE DATABASE \"lat in\" TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' "
                + "LC_CTYPE 'C'");
        JsonNode locale = preflight(agentA, "loc", source("lat in")).at("/facts/database_locale");
        assertEquals("{\"encoding\":\"LATIN1\",\"lc_collate\":\"C\",\"lc_ctype\":\"C\",\"locale_provider\":\"libc\"}",
                locale.toString());

        Map<String, Object> target = target("lat in");
        target.put("source_database_locale", locale);
        assertNoFinding(preflight(agentB, "loc", target), "database_locale_differs");
        assertNoFinding(preflight(agentB, "loc", target), "database_locale_unsupported");
        sql(b18, "postgres", "CREATE DATABASE \"lat in\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' "
                + "LC_CTYPE 'C.UTF-8'");
        JsonNode differs = preflight(agentB, "loc", target);
        List<String> named = new ArrayList<>();
        finding(differs, "database_locale_differs").get("objects").forEach(o -> named.add(o.asText()));
        assertEquals(List.of("encoding UTF8 (wanted LATIN1)", "lc_collate C.UTF-8 (wanted C)",
                "lc_ctype C.UTF-8 (wanted C)"), named);
        assertEquals("error", finding(differs, "database_locale_differs").get("severity").asText());
        target.put("allow_locale_change", true);
        assertFinding(preflight(agentB, "loc", target), "database_locale_differs", "warning", null);

        // made by the database step as the source asks, the provider named; an older server cannot
        Map<String, Object> builtin = new java.util.HashMap<>(Map.of("database", "built in", "encoding", "UTF8",
                "lc_collate", "C.UTF-8", "lc_ctype", "C.UTF-8", "locale_provider", "builtin", "locale", "C.UTF-8"));
        Answer made = agentB.put("/v1/migrations/loc/database", builtin);
        assertEquals(200, made.status(), made.body().toString());
        assertEquals("b|C.UTF-8", one(b18, "postgres", "SELECT datlocprovider::text || '|' || datlocale FROM pg_database "
                + "WHERE datname = 'built in'"));
        assertFalse(agentB.put("/v1/migrations/loc/database", builtin).body().get("changed").asBoolean());
        builtin.put("locale_provider", "libc");
        builtin.remove("locale");
        Answer other = agentB.put("/v1/migrations/loc/database", builtin);
        assertEquals(422, other.status(), other.body().toString());
        assertEquals("database_mismatch", other.body().get("code").asText());
        builtin.put("locale_provider", "builtin");
        builtin.put("locale", "C.UTF-8");
        Answer old = agentA.put("/v1/migrations/loc/database", builtin);
        assertEquals(422, old.status(), old.body().toString());
        assertEquals("locale_provider_unsupported", old.body().get("code").asText());
        assertEquals("0", one(a14, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'built in'"));

        Map<String, Object> onOld = target("built in");
        onOld.put("source_database_locale", Map.of("encoding", "UTF8", "lc_collate", "C.UTF-8", "lc_ctype", "C.UTF-8",
                "locale_provider", "builtin", "locale", "C.UTF-8"));
        assertFinding(preflight(agentA, "loc", onOld), "database_locale_unsupported", "error",
                "locale provider builtin (PostgreSQL 17 or newer)");
        boolean icu = Integer.parseInt(one(b18, "postgres", "SELECT count(*) FROM pg_collation WHERE collprovider = 'i'"))
                > 1;
        Map<String, Object> icuSource = target("icu db");
        icuSource.put("source_database_locale", Map.of("encoding", "UTF8", "lc_collate", "C.UTF-8", "lc_ctype",
                "C.UTF-8", "locale_provider", "icu", "locale", "de-DE"));
        JsonNode icuAnswer = preflight(agentB, "loc", icuSource);
        if (icu) {
            assertNoFinding(icuAnswer, "database_locale_unsupported");
        } else {
            assertFinding(icuAnswer, "database_locale_unsupported", "error",
                    "locale provider icu (this PostgreSQL is built without ICU)");
        }
    }

    /** Pointed at a standby, every step's first change would fail with PostgreSQL's message: said before. */
    @Test
    @Order(3)
    void aStandbyIsNoSourceNorTarget() throws Exception {
        PgCluster standby = PgCluster.standby("preflight-standby-" + UUID.randomUUID().toString().substring(0, 8), a14);
        try (AgentHandle agent = AgentHandle.start(standby, dir.resolve("standby"))) {
            assertEquals("t", one(standby, "postgres", "SELECT pg_is_in_recovery()"));
            JsonNode source = preflight(agent, "stby", source("postgres"));
            assertFalse(source.get("ok").asBoolean(), source.toString());
            assertFinding(source, "server_in_recovery", "error", "source");
            assertFinding(preflight(agent, "stby", target("postgres")), "server_in_recovery", "error", "target");
            assertNoFinding(preflight(agentA, "stby", source("postgres")), "server_in_recovery");
        } finally {
            standby.destroy();
        }
    }

    /**
     * A managed service's admin role: no superuser, tables owned by the application's role. What the replication_role
     * step could not do is an error before anything runs, and the step itself refuses it changing nothing (a GRANT
     * without grant option would only warn, and the copy fail later with "permission denied").
     */
    @Test
    @Order(3)
    void aNonSuperuserAgentLacksWhatTheReplicationRoleTakes() throws Exception {
        String pw = "adm-" + UUID.randomUUID();
        Path pwfile = io.pgferry.agent.testbed.AgentFixture.secretFile(Files.createDirectories(dir.resolve("admin")),
                "admin.password", pw);
        for (PgCluster cluster : new PgCluster[] {a14, b18}) {
            sql(cluster, "postgres", "CREATE ROLE dbadmin LOGIN CREATEDB CREATEROLE REPLICATION PASSWORD '" + pw
                    + "'; GRANT pg_monitor, pg_signal_backend TO dbadmin; CREATE ROLE \"App Owner\"");
            sql(cluster, "postgres", "CREATE DATABASE owned OWNER dbadmin");
            sql(cluster, "owned", "CREATE SCHEMA \"Säles\" AUTHORIZATION \"App Owner\"; SET ROLE \"App Owner\"; "
                    + "CREATE TABLE \"Säles\".t (id serial PRIMARY KEY, v text); INSERT INTO \"Säles\".t (v) VALUES ('x'); "
                    + "GRANT USAGE ON SCHEMA \"Säles\" TO dbadmin; GRANT SELECT ON \"Säles\".t TO dbadmin");
            try (AgentHandle agent = AgentHandle.start(cluster, dir.resolve("admin-" + cluster.major()), "dbadmin",
                    pwfile)) {
                Map<String, Object> body = source("owned");
                body.put("exclude_schemas", List.of("public"));
                List<String> lacking = new ArrayList<>();
                JsonNode answer = preflight(agent, "own", body);
                finding(answer, "agent_lacks_rights").get("objects").forEach(o -> lacking.add(o.asText()));
                List<String> objects = List.of("USAGE on schema \"Säles\" WITH GRANT OPTION",
                        "SELECT on table \"Säles\".\"t\" WITH GRANT OPTION",
                        "SELECT on sequence \"Säles\".\"t_id_seq\" WITH GRANT OPTION");
                List<String> expected = new ArrayList<>(objects);
                expected.add("ownership of table \"Säles\".\"t\" (owner \"App Owner\"): the publication takes only "
                        + "tables it owns");
                if (cluster.major() < 16) {
                    expected.add(0, "superuser: \"dbadmin\" may not create the REPLICATION role \"pgferry_own\" (PostgreSQL 14 "
                            + "lets only superusers)");
                }
                assertEquals(expected, lacking, answer.toString());

                Map<String, Object> role = new java.util.HashMap<>(Map.of("database", "owned", "password",
                        "repl-" + pw, "exclude_schemas", List.of("public")));
                Answer refused = agent.put("/v1/migrations/own/replication-role", role);
                assertEquals(422, refused.status(), refused.body().toString());
                assertEquals("agent_lacks_rights", refused.body().get("code").asText());
                assertEquals("0", one(cluster, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname = 'pgferry_own'"));

                List<String> subscribe = texts(finding(preflight(agent, "own", target("owned")), "agent_lacks_rights")
                        .get("objects"));
                assertEquals(List.of(cluster.major() < 16
                        ? "superuser: \"dbadmin\" may not CREATE SUBSCRIPTION (PostgreSQL 14 lets only superusers)"
                        : "membership in pg_create_subscription: \"dbadmin\" may not CREATE SUBSCRIPTION"), subscribe);
                // the cutover's reverse stream subscribes the source: said as a warning before the migration starts
                assertFinding(answer, "reverse_stream_not_possible", "warning", subscribe.get(0));

                sql(cluster, "postgres", "GRANT \"App Owner\" TO dbadmin");
                if (cluster.major() >= 16) {
                    sql(cluster, "postgres", "GRANT pg_create_subscription TO dbadmin");
                    assertNoFinding(preflight(agent, "own", target("owned")), "agent_lacks_rights");
                    assertNoFinding(preflight(agent, "own", body), "reverse_stream_not_possible");
                    assertNoFinding(preflight(agent, "own", body), "agent_lacks_rights");
                    Answer made = agent.put("/v1/migrations/own/replication-role", role);
                    assertEquals(200, made.status(), made.body().toString());
                    assertEquals("t", one(cluster, "owned", "SELECT has_table_privilege('pgferry_own', "
                            + "'\"Säles\".t', 'SELECT')"));
                } else {
                    assertEquals(List.of(expected.get(0)), texts(finding(preflight(agent, "own", body), "agent_lacks_rights")
                            .get("objects")), "only a superuser may make a REPLICATION role on 14");
                    // a managed service's admin role may, its own way: not refused here
                    sql(cluster, "postgres", "CREATE ROLE rds_superuser; GRANT rds_superuser TO dbadmin");
                    assertNoFinding(preflight(agent, "own", body), "agent_lacks_rights");
                    assertNoFinding(preflight(agent, "own", target("owned")), "agent_lacks_rights");
                    sql(cluster, "postgres", "DROP ROLE rds_superuser");
                }
            }
        }
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(o -> out.add(o.asText()));
        return out;
    }

    @Test
    @Order(6)
    void badRequestsAreRefused() throws Exception {
        String path = "/v1/migrations/clean/preflight";
        Answer noSide = agentA.post(path, Map.of("database", "clean"));
        assertEquals(400, noSide.status(), noSide.body().toString());
        assertEquals("side", noSide.body().get("field").asText());

        Map<String, Object> wrongSide = source("clean");
        wrongSide.put("connection", connection("pgferry_clean", ROLE_PASSWORD, "clean"));
        Answer misplaced = agentA.post(path, wrongSide);
        assertEquals(400, misplaced.status(), misplaced.body().toString());
        assertEquals("connection", misplaced.body().get("field").asText());

        assertEquals(404, agentA.post(path, source("no_such_database")).status());

        Map<String, Object> stray = source("clean");
        stray.put("replica_identity_full", List.of(table("nowhere", "nothing")));
        Answer unknown = agentA.post(path, stray);
        assertEquals(422, unknown.status(), unknown.body().toString());
        assertEquals("unknown_objects", unknown.body().get("code").asText());
    }

    // ------------------------------------------------------------------ helpers

    private JsonNode probe(AgentHandle agent, String db, Map<String, Object> connection) throws Exception {
        Map<String, Object> body = target(db);
        body.put("connection", connection);
        // The source's preflight found the role (the test made it): a failed login is then an error of its own.
        body.put("replication_role_exists", true);
        return preflight(agent, "probe", body);
    }

    private void assertSourceFailure(JsonNode answer, String code, String from) {
        assertFalse(answer.get("ok").asBoolean(), answer.toString());
        assertEquals(from, answer.at("/facts/source_connection_tested_from").asText(), answer.toString());
        assertFalse(answer.at("/facts/source_reachable").asBoolean(), answer.toString());
        JsonNode f = finding(answer, code);
        assertEquals("error", f.get("severity").asText(), answer.toString());
        List<String> codes = answer.get("findings").findValuesAsText("code");
        assertEquals(1, codes.stream().filter(c -> c.startsWith("source_")).count(), answer.toString());
    }

    private JsonNode preflight(AgentHandle agent, Map<String, Object> body) throws Exception {
        return preflight(agent, (String) body.get("database"), body);
    }

    /** One call, with both clusters' catalogs compared before and after: a preflight never changes anything. */
    private JsonNode preflight(AgentHandle agent, String migration, Map<String, Object> body) throws Exception {
        String beforeA = snapshot(a14);
        String beforeB = snapshot(b18);
        Answer a = agent.post("/v1/migrations/" + migration + "/preflight", body);
        assertEquals(200, a.status(), String.valueOf(a.body()));
        assertEquals(beforeA, snapshot(a14), "the preflight changed the catalogs of " + a14);
        assertEquals(beforeB, snapshot(b18), "the preflight changed the catalogs of " + b18);
        JsonNode answer = a.body();
        boolean errors = answer.get("findings").findValuesAsText("severity").contains("error");
        assertEquals(!errors, answer.get("ok").asBoolean(), answer.toString());
        return answer;
    }

    private static String snapshot(PgCluster cluster) throws Exception {
        StringBuilder sb = new StringBuilder();
        List<String> databases = new ArrayList<>();
        try (Connection c = cluster.connect("postgres")) {
            for (String sql : List.of(
                    "SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1",
                    "SELECT slot_name || ':' || coalesce(plugin, '') || ':' || coalesce(database, '') "
                            + "FROM pg_replication_slots ORDER BY 1",
                    "SELECT rolname || ':' || rolcanlogin || ':' || rolreplication FROM pg_roles ORDER BY 1",
                    "SELECT subname || ':' || subenabled || ':' || subconninfo FROM pg_subscription ORDER BY 1")) {
                List<String> rows = rows(c, sql);
                if (databases.isEmpty()) {
                    databases.addAll(rows);
                }
                sb.append(rows).append('\n');
            }
        }
        for (String db : databases) {
            try (Connection c = cluster.connect(db)) {
                for (String sql : List.of(
                        "SELECT oid || ':' || relname || ':' || relreplident::text || ':' || relpersistence::text "
                                + "|| ':' || relkind::text FROM pg_class ORDER BY oid",
                        "SELECT pubname || ':' || puballtables FROM pg_publication ORDER BY 1",
                        "SELECT prpubid || ':' || prrelid FROM pg_publication_rel ORDER BY 1",
                        "SELECT extname FROM pg_extension ORDER BY 1",
                        "SELECT count(*) FROM pg_largeobject_metadata")) {
                    sb.append(db).append(rows(c, sql)).append('\n');
                }
            }
        }
        return sb.toString();
    }

    private static List<String> rows(Connection c, String sql) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private static JsonNode finding(JsonNode answer, String code) {
        for (JsonNode f : answer.get("findings")) {
            if (f.get("code").asText().equals(code)) {
                return f;
            }
        }
        throw new AssertionError("no finding " + code + " in " + answer);
    }

    /** A finding with this code and severity whose objects include {@code object} (any object when null). */
    private static void assertFinding(JsonNode answer, String code, String severity, String object) {
        TreeSet<String> seen = new TreeSet<>();
        for (JsonNode f : answer.get("findings")) {
            if (!f.get("code").asText().equals(code) || !f.get("severity").asText().equals(severity)) {
                continue;
            }
            assertFalse(f.get("message").asText().isEmpty());
            assertFalse(f.get("fix").asText().isEmpty());
            f.get("objects").forEach(o -> seen.add(o.asText()));
            if (object == null || seen.contains(object)) {
                return;
            }
        }
        throw new AssertionError("no " + severity + " " + code + " naming " + object + " (saw " + seen + ") in "
                + answer);
    }

    private static void assertNoFinding(JsonNode answer, String code) {
        assertFalse(answer.get("findings").findValuesAsText("code").contains(code), answer.toString());
    }

    private static Map<String, Object> source(String database) {
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("side", "source");
        b.put("database", database);
        return b;
    }

    private static Map<String, Object> target(String database) {
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("side", "target");
        b.put("database", database);
        return b;
    }

    private Map<String, Object> connection(String user, String password, String dbname) {
        return connection(a14, user, password, dbname);
    }

    private static Map<String, Object> connection(PgCluster source, String user, String password, String dbname) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("host", source.host());
        m.put("port", source.port());
        m.put("dbname", dbname);
        m.put("user", user);
        m.put("password", password);
        m.put("sslmode", "disable");
        return m;
    }

    private static Map<String, String> table(String schema, String name) {
        return Map.of("schema", schema, "name", name);
    }

    private static void sql(PgCluster cluster, String db, String sql) throws Exception {
        try (Connection c = cluster.connect(db); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    private static String one(PgCluster cluster, String db, String sql) throws Exception {
        try (Connection c = cluster.connect(db); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
