package io.pgferry.agent.schemaapply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgferry.agent.testbed.AgentFixture;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The schema transfer end to end between two real clusters and two real agents: archive on the source, download,
 * upload, schema apply and post-data on the target. The steps build on each other, so the tests run in order.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class SchemaPipelineContract {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String DB = "shop";
    /** Names that are wildcards, separators and quotes to pg_dump unless quoted, and a decoy they would match. */
    private static final String EXTRAS = """
            CREATE SCHEMA "Sch.*?";
            CREATE TABLE "Sch.*?"."T ""q\""" (id int PRIMARY KEY);
            CREATE TABLE "Sch.*?"."T x" (id int PRIMARY KEY);
            CREATE SCHEMA "SchX";
            CREATE TABLE "SchX".decoy (id int PRIMARY KEY);
            CREATE TABLE public.nopk (a int NOT NULL, b int);
            CREATE UNIQUE INDEX "nopk a" ON public.nopk (a);
            ALTER TABLE public.nopk REPLICA IDENTITY USING INDEX "nopk a";
            ALTER TABLE public.documents ENABLE ROW LEVEL SECURITY;
            CREATE POLICY "read all" ON public.documents USING (true);
            CREATE RULE "no op" AS ON DELETE TO "order"."table" WHERE false DO INSTEAD NOTHING;
            COMMENT ON INDEX "Sales Dept"."Customer Accounts trgm" IS 'trigram search';
            COMMENT ON TRIGGER "Touch Note" ON "Sales Dept".invoices IS 'fills note';
            COMMENT ON CONSTRAINT invoices_account_fk ON "Sales Dept".invoices IS 'deferred';
            """;
    private static final Map<String, Object> SCOPE = Map.of("database", DB,
            "exclude_schemas", List.of("excluded", "SchX"),
            "exclude_tables", List.of(Map.of("schema", "Sch.*?", "name", "T \"q\"")));
    /** What the scope leaves behind, as it appears in {@link Catalogs} rows. */
    private static final List<String> OUT_OF_SCOPE = List.of("excluded.", "\"SchX\".", "\"Sch.*?\".\"T \"\"q\"\"\"");

    PgCluster source;
    PgCluster target;
    AgentHandle src;
    AgentHandle tgt;
    Path dir;

    abstract int sourceMajor();

    abstract int targetMajor();

    @BeforeAll
    void start() throws Exception {
        String id = UUID.randomUUID().toString().substring(0, 8);
        dir = Files.createTempDirectory("schema-pipeline");
        source = PgCluster.create("schema-src-" + id, sourceMajor());
        target = PgCluster.create("schema-tgt-" + id, targetMajor());
        Path fixtures = PgBedTool.repoRoot().resolve("fixtures");
        Catalogs.execute(source, "postgres", "CREATE DATABASE " + DB);
        for (String sql : List.of(Files.readString(fixtures.resolve("rich.sql")),
                Files.readString(fixtures.resolve("basic.sql")), EXTRAS)) {
            Catalogs.execute(source, DB, sql);
        }
        for (String db : List.of(DB, "jobs", "empty")) {
            Catalogs.execute(target, "postgres", "CREATE DATABASE " + db);
        }
        src = AgentHandle.start(source, dir.resolve("source"));
        tgt = AgentHandle.start(target, dir.resolve("target"));
    }

    @AfterAll
    void stop() throws Exception {
        for (AgentHandle agent : new AgentHandle[] {src, tgt}) {
            if (agent != null) {
                agent.close();
                for (String body : agent.bodies()) {
                    assertFalse(body.contains(source.superuserPassword()) || body.contains(target.superuserPassword()),
                            "a password leaked into a response");
                }
            }
        }
        for (PgCluster c : new PgCluster[] {source, target}) {
            if (c != null) {
                c.destroy();
            }
        }
        deleteTree(dir);
    }

    @Test
    @Order(1)
    void archiveNamesEveryEntryExactly() throws Exception {
        Answer a = src.post("/v1/migrations/main/schema-archive", SCOPE);
        assertEquals(200, a.status(), a.body().toString());
        assertTrue(a.at("/changed").asBoolean());
        Set<String> tables = names(a.at("/archive/tables"));
        assertTrue(tables.containsAll(Set.of("Sales Dept/Customer Accounts", "ünïcødé_schéma/Ðata ✓",
                "public/a_table_name_that_is_exactly_sixty_three_bytes_long_xxxxxxxxxxx", "Sch.*?/T x",
                "included/customers")), tables.toString());
        assertFalse(tables.contains("Sch.*?/T \"q\"") || tables.contains("excluded/audit"), tables.toString());

        Answer got = src.get("/v1/migrations/main/schema-archive/manifest");
        assertEquals(200, got.status(), new String(got.raw(), java.nio.charset.StandardCharsets.UTF_8));
        JsonNode manifest = got.body();
        List<JsonNode> entries = list(manifest.get("entries"));
        JsonNode trigger = find(entries, "trigger", "Sales Dept", "invoices", "Touch Note");
        JsonNode pk = find(entries, "table constraint", "Sales Dept", "Customer Accounts", "Customer Accounts_pkey");
        assertTrue(pk.get("primary_key").asBoolean());
        assertEquals("p", pk.get("contype").asText());
        assertTrue(find(entries, "index", "public", "nopk", "nopk a").get("replica_identity").asBoolean());
        assertTrue(find(entries, "index attach", "public", "measurements_2025", "measurements_2025_pkey")
                .get("primary_key").asBoolean());
        assertEquals("f", find(entries, "table constraint", "Sales Dept", "invoices", "invoices_account_fk")
                .get("contype").asText());
        find(entries, "table", "ünïcødé_schéma", null, "Ðata ✓");
        find(entries, "table", "public", null, "a_table_name_that_is_exactly_sixty_three_bytes_long_xxxxxxxxxxx");
        find(entries, "policy", "public", "documents", "read all");
        find(entries, "rule", "order", "table", "no op");
        assertTrue(entries.stream().anyMatch(e -> "comment".equals(e.path("type").asText())
                && e.get("comment_on").asInt() == trigger.get("id").asInt()), "the trigger's comment is resolved");
        for (JsonNode e : entries) {
            if (e.get("section").asText().equals("post-data")) {
                assertTrue(e.hasNonNull("type"), "unresolved post-data entry " + e);
            }
        }
        assertEquals(Set.of("btree_gist", "citext", "hstore", "pg_trgm"), Set.copyOf(
                list(manifest.get("extensions")).stream().map(x -> x.get("name").asText()).toList()));

        Answer again = src.post("/v1/migrations/main/schema-archive", SCOPE);
        assertFalse(again.at("/changed").asBoolean(), "an unchanged schema is no change");
        assertEquals(a.at("/archive/sha256"), again.at("/archive/sha256"));
    }

    @Test
    @Order(2)
    void aCheckSaysWhetherTheArchiveWouldChangeAndStoresNothing() throws Exception {
        Map<String, Object> check = new java.util.HashMap<>(SCOPE);
        check.put("check", true);
        byte[] manifest = src.get("/v1/migrations/main/schema-archive/manifest").raw();
        Answer same = src.post("/v1/migrations/main/schema-archive", check);
        assertEquals(200, same.status(), same.body().toString());
        assertFalse(same.at("/changed").asBoolean(), "the schema is the archived one: " + same.body());
        try (Connection c = source.connect(DB); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE public.\"check probe\" (id int)");
            try {
                Answer differs = src.post("/v1/migrations/main/schema-archive", check);
                assertTrue(differs.at("/changed").asBoolean(), "a new table: a new archive would be made");
            } finally {
                st.execute("DROP TABLE public.\"check probe\"");
            }
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(manifest,
                src.get("/v1/migrations/main/schema-archive/manifest").raw(), "nothing stored");

        Answer first = src.post("/v1/migrations/probe/schema-archive", check);
        assertTrue(first.at("/changed").asBoolean(), first.body().toString());
        assertTrue(first.body().path("archive").isMissingNode(), "no archive stored yet: " + first.body());
        assertFalse(Files.exists(dir.resolve("source/state/probe")), "a check leaves no state of a new migration");
        assertEquals(404, src.get("/v1/migrations/probe/schema-archive/manifest").status());
    }

    @Test
    @Order(2)
    void anUnreadableManifestIsReplacedNotFatal() throws Exception {
        assertEquals(200, src.post("/v1/migrations/stale/schema-archive", SCOPE).status());
        // As left by an agent of another version, or a disk that filled up mid-write.
        Files.writeString(dir.resolve("source/state/stale/schema.manifest.json"), "{\"format\": 0, \"unknown\": true}");
        assertEquals(404, src.get("/v1/migrations/stale/schema-archive/manifest").status());
        Answer again = src.post("/v1/migrations/stale/schema-archive", SCOPE);
        assertEquals(200, again.status(), again.body().toString());
        assertTrue(again.at("/changed").asBoolean(), "a new archive and manifest are written");
        assertEquals(200, src.get("/v1/migrations/stale/schema-archive/manifest").status());
    }

    @Test
    @Order(2)
    void patternCharactersInNamesAreLiteral() throws Exception {
        Answer a = src.post("/v1/migrations/odd/schema-archive", Map.of("database", DB,
                "include_schemas", List.of("Sch.*?", "ünïcødé_schéma"),
                "exclude_tables", List.of(Map.of("schema", "Sch.*?", "name", "T \"q\""))));
        assertEquals(200, a.status(), a.body().toString());
        assertEquals(Set.of("Sch.*?/T x", "ünïcødé_schéma/Ðata ✓"), names(a.at("/archive/tables")));
        List<JsonNode> entries = list(src.get("/v1/migrations/odd/schema-archive/manifest").body().get("entries"));
        assertTrue(entries.stream().noneMatch(e -> "SchX".equals(e.path("schema").asText())
                || "T \"q\"".equals(e.path("name").asText()) || "T \"q\"".equals(e.path("table").asText())));
        Answer unknown = src.post("/v1/migrations/odd/schema-archive", Map.of("database", DB,
                "include_schemas", List.of("Sch.*")));
        assertEquals(422, unknown.status());
        assertEquals("unknown_objects", unknown.at("/code").asText());
        assertEquals(404, src.post("/v1/migrations/odd/schema-archive", Map.of("database", "nope")).status());
    }

    @Test
    @Order(3)
    void archiveTravelsIntact() throws Exception {
        Answer download = src.get("/v1/migrations/main/schema-archive");
        assertEquals(200, download.status());
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(download.raw()));
        assertEquals(sha, download.response().headers().firstValue("X-Pgferry-Sha256").orElseThrow());

        Answer damaged = tgt.putBytes("/v1/migrations/main/schema-archive", download.raw(), "0".repeat(64));
        assertEquals(422, damaged.status());
        assertEquals("sha256_mismatch", damaged.at("/code").asText());
        assertEquals(404, tgt.post("/v1/migrations/main/schema-apply", Map.of("database", DB)).status());

        assertTrue(tgt.putBytes("/v1/migrations/main/schema-archive", download.raw(), sha).at("/changed").asBoolean());
        assertFalse(tgt.putBytes("/v1/migrations/main/schema-archive", download.raw(), sha).at("/changed")
                .asBoolean());
        byte[] manifest = src.get("/v1/migrations/main/schema-archive/manifest").raw();
        assertTrue(tgt.putJsonBytes("/v1/migrations/main/schema-archive/manifest", manifest).at("/changed")
                .asBoolean());
        assertFalse(tgt.putJsonBytes("/v1/migrations/main/schema-archive/manifest", manifest).at("/changed")
                .asBoolean());
        assertEquals(sha, tgt.get("/v1/migrations/main/schema-archive").response().headers()
                .firstValue("X-Pgferry-Sha256").orElseThrow());
    }

    @Test
    @Order(4)
    void schemaApplyCreatesTablesAndKeysOnly() throws Exception {
        Set<String> before = Catalogs.objects(target, DB, List.of());
        Answer check = tgt.post("/v1/migrations/main/schema-apply", Map.of("database", DB, "check", true));
        assertEquals(200, check.status(), check.body().toString());
        assertTrue(check.at("/changed").asBoolean());
        assertEquals("applied", check.at("/pre_data").asText());
        assertEquals(before, Catalogs.objects(target, DB, List.of()), "check mode changed the target");

        JsonNode job = finished(tgt.post("/v1/migrations/main/schema-apply?wait=60", Map.of("database", DB)));
        assertEquals("schema-apply:main", job.get("id").asText());
        JsonNode result = job.get("result");
        assertTrue(result.get("changed").asBoolean());
        assertEquals("applied", result.get("pre_data").asText());
        assertTrue(result.at("/primary_keys/applied").asInt() > 10);

        Set<String> sourceObjects = Catalogs.objects(source, DB, OUT_OF_SCOPE);
        Set<String> after = Catalogs.objects(target, DB, List.of());
        for (String row : sourceObjects) {
            boolean keyOrTable = row.startsWith("relation r") || row.startsWith("relation p")
                    || row.matches("constraint .* p") || row.contains("_pkey") || row.contains("replica identity");
            if (keyOrTable) {
                // Row security is enabled with the policies, in post-data.
                String expected = row.replace(" rls", "");
                assertTrue(after.contains(expected), "missing after schema apply: " + expected);
            }
        }
        assertFalse(after.stream().anyMatch(r -> r.contains("Customer Accounts trgm") || r.contains("Touch Note")
                || r.contains("no_double_booking") || r.contains("invoices_account_fk")), after.toString());

        JsonNode rerun = finished(tgt.post("/v1/migrations/main/schema-apply?wait=60", Map.of("database", DB)))
                .get("result");
        assertFalse(rerun.get("changed").asBoolean(), rerun.toString());
        assertEquals("present", rerun.get("pre_data").asText());
        assertEquals(0, rerun.at("/primary_keys/applied").asInt());
        assertEquals(after, Catalogs.objects(target, DB, List.of()));
    }

    @Test
    @Order(5)
    void postDataCompletesTheSchema() throws Exception {
        Set<String> before = Catalogs.objects(target, DB, List.of());
        Answer check = tgt.post("/v1/migrations/main/post-data", Map.of("database", DB, "check", true));
        assertEquals(200, check.status(), check.body().toString());
        assertTrue(check.at("/changed").asBoolean());
        assertEquals(before, Catalogs.objects(target, DB, List.of()), "check mode changed the target");

        JsonNode job = finished(tgt.post("/v1/migrations/main/post-data?wait=60", Map.of("database", DB, "jobs", 2)));
        assertTrue(job.at("/result/changed").asBoolean());
        assertTrue(job.at("/result/restored/INDEX").asInt() >= 5, job.toString());
        assertEquals(Catalogs.objects(source, DB, OUT_OF_SCOPE), Catalogs.objects(target, DB, List.of()));
        // No table here was ever analyzed (the schema apply made them, no copy ran): each gets its statistics once.
        assertTrue(check.at("/analyzed").size() > 0, check.body().toString());
        assertEquals(check.at("/analyzed"), job.at("/result/analyzed"), job.toString());
        assertTrue(job.at("/result/queries").toString().contains("ANALYZE "), job.toString());

        JsonNode rerun = finished(tgt.post("/v1/migrations/main/post-data?wait=60", Map.of("database", DB)));
        assertFalse(rerun.at("/result/changed").asBoolean(), rerun.toString());
        assertEquals(0, rerun.at("/result/analyzed").size(), rerun.toString());
        assertEquals(Catalogs.objects(source, DB, OUT_OF_SCOPE), Catalogs.objects(target, DB, List.of()));
    }

    @Test
    @Order(6)
    void excludedSchemaStaysBehind() throws Exception {
        Set<String> schemas = Catalogs.schemas(target, DB);
        assertTrue(schemas.containsAll(Set.of("included", "Sales Dept", "ünïcødé_schéma", "Sch.*?")));
        assertFalse(schemas.contains("excluded") || schemas.contains("SchX"), schemas.toString());
    }

    @Test
    @Order(7)
    void missingExtensionsAreRefusedBeforeAnythingRuns() throws Exception {
        Answer download = src.get("/v1/migrations/main/schema-archive");
        String sha = download.response().headers().firstValue("X-Pgferry-Sha256").orElseThrow();
        ObjectNode manifest = (ObjectNode) src.get("/v1/migrations/main/schema-archive/manifest").body().deepCopy();
        manifest.put("migration", "fakeext");
        ((com.fasterxml.jackson.databind.node.ArrayNode) manifest.get("extensions")).addObject()
                .put("name", "pgferry_no_such_extension").put("version", "1.0").put("schema", "public");
        assertEquals(200, tgt.putBytes("/v1/migrations/fakeext/schema-archive", download.raw(), sha).status());
        // Signed with the key both agents hold, as a source with that extension would have.
        assertEquals(200, tgt.putJsonBytes("/v1/migrations/fakeext/schema-archive/manifest",
                AgentFixture.signManifest("fakeext", manifest)).status());
        Set<String> before = Catalogs.objects(target, "empty", List.of());
        for (boolean check : new boolean[] {true, false}) {
            Answer a = tgt.post("/v1/migrations/fakeext/schema-apply", Map.of("database", "empty", "check", check));
            assertEquals(422, a.status(), a.body().toString());
            assertEquals("extensions_missing", a.at("/code").asText());
            assertEquals("[\"pgferry_no_such_extension\"]", a.at("/objects").toString());
        }
        assertEquals(before, Catalogs.objects(target, "empty", List.of()));
        assertEquals(Set.of(), Catalogs.objects(target, "empty", List.of()));
    }

    @Test
    @Order(8)
    void aRunningJobIsReattachedOrRefused() throws Exception {
        finished(tgt.post("/v1/migrations/main/schema-apply?wait=60", Map.of("database", "jobs")));
        try (Connection lock = target.connect("jobs"); Statement st = lock.createStatement()) {
            lock.setAutoCommit(false);
            // pg_restore's CREATE TRIGGER waits for this lock, so the job is sure to be running below.
            st.execute("LOCK TABLE \"Sales Dept\".invoices IN ACCESS EXCLUSIVE MODE");
            Answer first = tgt.post("/v1/migrations/main/post-data", Map.of("database", "jobs"));
            assertEquals(202, first.status(), first.body().toString());
            String id = first.at("/job/id").asText();
            assertEquals("post-data:main", id);
            assertEquals("running", first.at("/job/state").asText());
            Answer same = tgt.post("/v1/migrations/main/post-data?wait=1", Map.of("database", "jobs"));
            assertEquals(202, same.status());
            assertEquals(first.at("/job/started_at"), same.at("/job/started_at"), "the same job");
            for (Answer other : List.of(tgt.post("/v1/migrations/main/schema-apply", Map.of("database", "jobs")),
                    tgt.post("/v1/migrations/main/post-data", Map.of("database", "jobs", "jobs", 3)))) {
                assertEquals(409, other.status(), other.body().toString());
                assertEquals("operation_in_progress", other.at("/code").asText());
                assertEquals(id, other.at("/objects/0").asText());
            }
            assertEquals("running", tgt.get("/v1/jobs/" + id).at("/state").asText());
            lock.rollback();
        }
        JsonNode done = tgt.get("/v1/jobs/post-data:main?wait=60").body();
        assertEquals("succeeded", done.get("state").asText(), done.toString());
        assertEquals(404, tgt.get("/v1/jobs/post-data:nope").status());
    }

    private static void deleteTree(Path root) throws java.io.IOException {
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static JsonNode finished(Answer a) {
        assertEquals(200, a.status(), String.valueOf(a.body()));
        JsonNode job = a.body().get("job");
        assertEquals("succeeded", job.get("state").asText(), job.toString());
        return job;
    }

    private static List<JsonNode> list(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).toList();
    }

    private static Set<String> names(JsonNode tables) {
        Set<String> out = new java.util.TreeSet<>();
        tables.forEach(t -> out.add(t.get("schema").asText() + "/" + t.get("name").asText()));
        return out;
    }

    private static JsonNode find(List<JsonNode> entries, String type, String schema, String table, String name) {
        List<JsonNode> found = new ArrayList<>();
        for (JsonNode e : entries) {
            if (type.equals(e.path("type").asText()) && schema.equals(e.path("schema").asText())
                    && name.equals(e.path("name").asText())
                    && (table == null || table.equals(e.path("table").asText()))) {
                found.add(e);
            }
        }
        assertEquals(1, found.size(), type + " " + schema + " " + table + " " + name);
        assertNotEquals(0, found.get(0).get("id").asInt());
        return found.get(0);
    }
}
