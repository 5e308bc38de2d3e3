package io.pgferry.agent.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentProcess;
import io.pgferry.agent.testbed.PgBed;
import io.pgferry.agent.testbed.PgCluster;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fuzz run of every endpoint that takes a body, and of the query parameters of the others, against a real agent
 * process (production JVM flags, 256 MiB heap) beside a real PostgreSQL 16. jqwik generates the requests: each
 * endpoint's valid body, then mutated (a field replaced by any JSON value, removed, added, nested thousands deep, a
 * number of thousands of digits, a string of hundreds of kilobytes), or replaced by any JSON value or by broken
 * bytes; uploads get random and damaged archives and manifests. No answer may be a 5xx, the agent must stay up, and
 * its resident memory flat. The figures are printed.
 *
 * <p>Connection objects are never valid (their password is always taken out), so no generated request makes a
 * PostgreSQL server connect anywhere: the run stays on this machine and needs no source to be down or up.
 *
 * <p>Default: up to 1,000 requests or 60 s. Longer: {@code PGFERRY_FUZZ_REQUESTS=50000 PGFERRY_FUZZ_SECONDS=1800
 * mvn -Dtest=JsonEndpointsFuzzTest -Dsurefire.failIfNoSpecifiedTests=false verify -pl agent}.
 */
@PgBed(major = 16)
class JsonEndpointsFuzzTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final String RAW = "__pgferry_raw__";
    private static final List<String> DATABASES = List.of("fuzz", "postgres", "nope", "fuzz2", "ünïcødé",
            "x\"; DROP TABLE t; --", "a".repeat(64), "");
    private static final List<String> MIGRATIONS = List.of("fz", "fz2", "FZ", "a".repeat(41), "9a", "fz%2F..",
            "f%00z");

    static PgCluster cluster;

    /** One generated request. */
    record Request(String method, String path, byte[] body, String contentType, List<String> headers) {
        String describe() {
            String text = body == null ? "" : new String(body, StandardCharsets.UTF_8);
            return method + " " + path + " " + (text.length() > 300 ? text.substring(0, 300) + "... ("
                    + text.length() + " bytes)" : text);
        }
    }

    @Test
    void generatedRequestsNeverGetA5xxAndMemoryStaysFlat(@TempDir Path dir) throws Exception {
        int limit = Integer.parseInt(System.getenv().getOrDefault("PGFERRY_FUZZ_REQUESTS", "1000"));
        Duration budget = Duration.ofSeconds(Long.parseLong(System.getenv().getOrDefault("PGFERRY_FUZZ_SECONDS",
                "60")));
        run(cluster, "postgres", "CREATE DATABASE fuzz");
        run(cluster, "fuzz", """
                CREATE SCHEMA app;
                CREATE TABLE app.items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
                INSERT INTO app.items (v) SELECT 'item ' || g FROM generate_series(1, 100) g;
                CREATE TABLE app.log (a int, b text);
                CREATE SEQUENCE app.counter;""");
        Map<String, Function<String, ObjectNode>> templates = templates();
        assertEveryBodyRouteHasATemplate(dir, templates.keySet());

        try (AgentProcess agent = AgentProcess.start(cluster, dir.resolve("agent"), "077")) {
            assertEquals(200, agent.json("POST", "/v1/migrations/fz/schema-archive", "{\"database\": \"fuzz\"}")
                    .statusCode(), agent.log());
            byte[] archive = agent.send("GET", "/v1/migrations/fz/schema-archive", null, null).body();
            byte[] manifest = agent.send("GET", "/v1/migrations/fz/schema-archive/manifest", null, null).body();
            Iterator<Request> requests = requests(templates, archive, manifest).sampleStream().iterator();

            long rssStart = agent.rssKib();
            long rssWarm = rssStart;
            long heapWarm = 0;
            Map<Integer, Integer> statuses = new TreeMap<>();
            Map<String, Integer> codes = new TreeMap<>();
            List<String> failures = new ArrayList<>();
            long started = System.nanoTime();
            int sent = 0;
            int retries = 0;
            List<String> notJson = new ArrayList<>();
            while (sent < limit && System.nanoTime() - started < budget.toNanos()) {
                Request r = requests.next();
                HttpResponse<byte[]> answer;
                try {
                    answer = send(agent, r);
                } catch (java.io.IOException e) {
                    // The agent closes a connection after answering a request whose body it did not read (413,
                    // 401, ...); the client may have sent the next request on it already. Once more, fresh.
                    retries++;
                    try {
                        answer = send(agent, r);
                    } catch (java.io.IOException again) {
                        failures.add(r.describe() + "\n  -> no answer, twice: " + again);
                        sent++;
                        continue;
                    }
                }
                sent++;
                statuses.merge(answer.statusCode(), 1, Integer::sum);
                codes.merge(code(answer), 1, Integer::sum);
                if (answer.statusCode() >= 400 && (code(answer).endsWith("(not JSON)") || code(answer).endsWith(" -"))) {
                    notJson.add(r.describe() + " -> " + answer.statusCode() + " "
                            + new String(answer.body(), StandardCharsets.UTF_8));
                }
                if (answer.statusCode() >= 500) {
                    failures.add(r.describe() + "\n  -> " + answer.statusCode() + " "
                            + new String(answer.body(), StandardCharsets.UTF_8));
                }
                if (sent == Math.min(200, limit / 5)) {
                    rssWarm = agent.rssKib();
                    heapWarm = agent.heapUsedAfterGcKib();
                }
            }
            long seconds = Duration.ofNanos(System.nanoTime() - started).toSeconds();
            long rssEnd = agent.rssKib();
            long heapEnd = agent.heapUsedAfterGcKib();
            System.out.printf("fuzz: %d requests in %d s (%d resent on a fresh connection); statuses %s; RSS %d MiB "
                    + "at start, %d MiB after warm-up, %d MiB at the end; live heap after a full GC %d MiB after "
                    + "warm-up, %d MiB at the end%nfuzz: codes %s%n", sent, seconds, retries, statuses,
                    rssStart / 1024, rssWarm / 1024, rssEnd / 1024, heapWarm / 1024, heapEnd / 1024, codes);
            assertTrue(notJson.isEmpty(), notJson.size() + " errors were no problem document:\n" + notJson.stream()
                    .limit(10).collect(Collectors.joining("\n")));
            assertTrue(failures.isEmpty(), failures.size() + " answers were 5xx:\n" + failures.stream().limit(20)
                    .collect(Collectors.joining("\n")));
            assertTrue(agent.alive() && agent.healthy(), "the agent is up: " + agent.log());
            assertTrue(sent >= Math.min(limit, 300), "only " + sent + " requests in " + seconds + " s");
            assertTrue(heapEnd - heapWarm < 32 * 1024, "live heap grew from " + heapWarm / 1024 + " to "
                    + heapEnd / 1024 + " MiB after the warm-up");
            assertTrue(rssEnd < 400 * 1024, "RSS " + rssEnd / 1024 + " MiB with a 256 MiB heap");
        }
    }

    private static HttpResponse<byte[]> send(AgentProcess agent, Request r) throws Exception {
        return agent.send(r.method(), r.path(), r.body(), r.contentType(), r.headers().toArray(String[]::new));
    }

    // ------------------------------------------------------------ what is generated

    private static Arbitrary<Request> requests(Map<String, Function<String, ObjectNode>> templates, byte[] archive,
                                               byte[] manifest) {
        List<String> routes = List.copyOf(templates.keySet());
        Arbitrary<Request> bodies = Combinators.combine(Arbitraries.of(routes), migrations(), databases(),
                        mutation())
                .as((route, m, db, mutate) -> {
                    String method = route.substring(0, route.indexOf(' '));
                    String path = route.substring(route.indexOf(' ') + 1).replace("{m}", m);
                    return new Request(method, path, mutate.apply(templates.get(route).apply(db)),
                            "application/json", List.of());
                });
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(12, bodies),
                net.jqwik.api.Tuple.of(2, uploads(archive, manifest)),
                net.jqwik.api.Tuple.of(2, queries()));
    }

    /** A body from a template: as is, or changed in one way. */
    private static Arbitrary<Function<ObjectNode, byte[]>> mutation() {
        Arbitrary<JsonNode> value = jsonValue();
        Arbitrary<String> fieldName = Arbitraries.oneOf(Arbitraries.strings().ofMaxLength(12),
                Arbitraries.of("database", "check", "side", "connection", "password", "jobs", "include_tables"));
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(1, Arbitraries.just(JsonEndpointsFuzzTest::asIs)),
                net.jqwik.api.Tuple.of(5, Combinators.combine(Arbitraries.integers().between(0, 20), value)
                        .as((i, v) -> t -> bytes(replace(t, i, v)))),
                net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(0, 20).map(i -> t -> bytes(remove(t, i)))),
                net.jqwik.api.Tuple.of(2, Combinators.combine(fieldName, value).as((n, v) -> t -> {
                    ObjectNode c = t.deepCopy();
                    c.set(n, v);
                    return bytes(c);
                })),
                net.jqwik.api.Tuple.of(1, Combinators.combine(Arbitraries.integers().between(0, 20),
                                Arbitraries.integers().between(60, 5000), Arbitraries.of("[", "{\"a\":"))
                        .as((i, depth, open) -> t -> raw(t, i, open.repeat(depth) + "1"
                                + (open.equals("[") ? "]" : "}").repeat(depth)))),
                net.jqwik.api.Tuple.of(1, Combinators.combine(Arbitraries.integers().between(0, 20),
                                Arbitraries.integers().between(20, 20000))
                        .as((i, digits) -> t -> raw(t, i, "9".repeat(digits)))),
                net.jqwik.api.Tuple.of(1, Combinators.combine(Arbitraries.integers().between(0, 20),
                                Arbitraries.integers().between(1000, 900_000))
                        .as((i, n) -> t -> raw(t, i, "\"" + "s".repeat(n) + "\""))),
                net.jqwik.api.Tuple.of(1, value.map(v -> t -> bytes(v))),
                net.jqwik.api.Tuple.of(1, Combinators.combine(Arbitraries.integers().between(0, 400),
                                Arbitraries.bytes().array(byte[].class).ofMaxSize(64))
                        .as((cut, junk) -> t -> {
                            byte[] whole = bytes(t);
                            byte[] out = new byte[Math.min(cut, whole.length) + junk.length];
                            System.arraycopy(whole, 0, out, 0, Math.min(cut, whole.length));
                            System.arraycopy(junk, 0, out, Math.min(cut, whole.length), junk.length);
                            return out;
                        })));
    }

    /** Any JSON value, a few levels deep, with the strings that have broken parsers and SQL before. */
    private static Arbitrary<JsonNode> jsonValue() {
        Arbitrary<JsonNode> scalar = Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(40).map(NODES::textNode),
                Arbitraries.strings().withCharRange('\u0000', '\uD7FF').withCharRange('\uE000', '\uFFFD')
                        .ofMaxLength(8).map(NODES::textNode),
                Arbitraries.of(DATABASES).map(NODES::textNode),
                Arbitraries.of("on", "true", "parallel", "publisher", "subscriber", "source", "target", "forward",
                        "reverse", "0/0", "FFFFFFFF/FFFFFFFF", "1e309", "NaN", "\u0000", "x".repeat(1001),
                        "%s%n", "../../etc/passwd", "'; SELECT pg_sleep(10); --").map(NODES::textNode),
                Arbitraries.integers().map(NODES::numberNode),
                Arbitraries.longs().map(NODES::numberNode),
                Arbitraries.doubles().map(NODES::numberNode),
                Arbitraries.bigIntegers().between(java.math.BigInteger.TEN.pow(30).negate(),
                        java.math.BigInteger.TEN.pow(30)).map(NODES::numberNode),
                Arbitraries.of(NODES.booleanNode(true), NODES.booleanNode(false), NODES.nullNode()));
        return Arbitraries.recursive(() -> scalar, inner -> Arbitraries.oneOf(
                inner.list().ofMaxSize(4).map(l -> {
                    ArrayNode a = NODES.arrayNode();
                    l.forEach(a::add);
                    return (JsonNode) a;
                }),
                Combinators.combine(Arbitraries.of("schema", "name", "host", "port", "dbname", "user", "sslmode",
                                "lo", "hi", "x"), inner).as((k, v) -> (JsonNode) NODES.objectNode().set(k, v))
                        .list().ofMaxSize(4).map(l -> {
                            ObjectNode o = NODES.objectNode();
                            l.forEach(e -> o.setAll((ObjectNode) e));
                            return (JsonNode) o;
                        })), 0, 3);
    }

    /** Archives and manifests: random bytes, the real ones damaged, with right and wrong hashes. */
    private static Arbitrary<Request> uploads(byte[] archive, byte[] manifest) {
        Arbitrary<byte[]> damagedArchive = Combinators.combine(Arbitraries.integers().between(0, archive.length - 1),
                Arbitraries.bytes()).as((i, b) -> {
                    byte[] c = archive.clone();
                    c[i] = b;
                    return c;
                });
        Arbitrary<byte[]> anyBytes = Arbitraries.oneOf(Arbitraries.bytes().array(byte[].class).ofMaxSize(200),
                Arbitraries.just(archive), damagedArchive,
                Arbitraries.bytes().array(byte[].class).ofMaxSize(100).map(b -> concat("PGDMP".getBytes(
                        StandardCharsets.US_ASCII), b)));
        Arbitrary<Request> archives = Combinators.combine(migrations(), anyBytes, Arbitraries.integers().between(0, 3))
                .as((m, b, sha) -> new Request("PUT", "/v1/migrations/" + m + "/schema-archive", b,
                        "application/octet-stream", switch (sha) {
                            case 0 -> List.of("X-Pgferry-Sha256", sha256(b));
                            case 1 -> List.of("X-Pgferry-Sha256", "0".repeat(64));
                            case 2 -> List.of("X-Pgferry-Sha256", "not a hash");
                            default -> List.of();
                        }));
        Arbitrary<byte[]> manifests = Arbitraries.oneOf(
                Arbitraries.just(manifest),
                Combinators.combine(Arbitraries.integers().between(0, manifest.length - 1), Arbitraries.bytes())
                        .as((i, b) -> {
                            byte[] c = manifest.clone();
                            c[i] = b;
                            return c;
                        }),
                Arbitraries.integers().between(0, manifest.length).map(n -> java.util.Arrays.copyOf(manifest, n)),
                jsonValue().map(JsonEndpointsFuzzTest::bytes));
        Arbitrary<Request> manifestUploads = Combinators.combine(migrations(), manifests)
                .as((m, b) -> new Request("PUT", "/v1/migrations/" + m + "/schema-archive/manifest", b,
                        "application/json", List.of()));
        return Arbitraries.oneOf(archives, manifestUploads);
    }

    /** The routes without a body, with generated query parameters. */
    private static Arbitrary<Request> queries() {
        Arbitrary<String> param = Arbitraries.oneOf(Arbitraries.of(DATABASES), Arbitraries.strings().ofMaxLength(20),
                Arbitraries.of("true", "false", "0", "1", "2", "-1", "301", "99999999999", "x"));
        Arbitrary<String> route = Arbitraries.of("GET status", "GET sync-status", "GET fence", "GET sequences",
                "GET schema-archive", "GET schema-archive/manifest", "DELETE publication", "DELETE subscription",
                "DELETE fence", "DELETE verify/snapshot", "DELETE catch-up", "GET /v1/jobs/schema-apply:fz", "GET /v1/orphans",
                "GET /v1/info");
        return Combinators.combine(route, migrations(), param, param, Arbitraries.of("database", "check", "wait",
                        "snapshot", "x"))
                .as((r, m, v1, v2, name) -> {
                    String method = r.substring(0, r.indexOf(' '));
                    String target = r.substring(r.indexOf(' ') + 1);
                    String path = target.startsWith("/") ? target : "/v1/migrations/" + m + "/" + target;
                    // A job may be waited for up to 300 s: keep the run moving.
                    String second = name.equals("wait") ? (v2.length() > 1 ? "1" : v2) : v2;
                    return new Request(method, path + "?database=" + enc(v1) + "&" + name + "=" + enc(second), null,
                            null, List.of());
                });
    }

    private static Arbitrary<String> migrations() {
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(8, Arbitraries.of("fz", "fz2", "fz3")),
                net.jqwik.api.Tuple.of(1, Arbitraries.of(MIGRATIONS)));
    }

    private static Arbitrary<String> databases() {
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(8, Arbitraries.just("fuzz")),
                net.jqwik.api.Tuple.of(2, Arbitraries.of(DATABASES)),
                net.jqwik.api.Tuple.of(1, Arbitraries.strings().ofMinLength(1).ofMaxLength(70)));
    }

    /**
     * A valid body of every route that takes one; a mutation turns it into a near miss. Connections carry no
     * password: see the class comment.
     */
    private static Map<String, Function<String, ObjectNode>> templates() {
        Map<String, Function<String, ObjectNode>> t = new LinkedHashMap<>();
        ObjectNode connection = NODES.objectNode().put("host", "127.0.0.1").put("port", 1).put("dbname", "fuzz")
                .put("user", "pgferry_fz").put("sslmode", "disable");
        t.put("PUT /v1/migrations/{m}/replication-role", db -> body(db).put("password", "fuzz-password-1")
                .set("include_schemas", NODES.arrayNode().add("app")));
        t.put("POST /v1/migrations/{m}/schema-archive", db -> body(db).set("exclude_tables",
                NODES.arrayNode().add(NODES.objectNode().put("schema", "app").put("name", "log"))));
        t.put("PUT /v1/migrations/{m}/publication", db -> body(db).put("check", true).set("replica_identity_full",
                NODES.arrayNode().add(NODES.objectNode().put("schema", "app").put("name", "log"))));
        t.put("PUT /v1/migrations/{m}/database", db -> body(db).put("owner", "postgres").put("encoding", "UTF8")
                .put("lc_collate", "C.UTF-8").put("lc_ctype", "C.UTF-8").put("template", "template0"));
        t.put("PUT /v1/migrations/{m}/schema-archive", db -> body(db)); // the upload route, fed JSON by mistake
        t.put("PUT /v1/migrations/{m}/schema-archive/manifest", db -> body(db));
        t.put("POST /v1/migrations/{m}/schema-apply", db -> body(db).put("check", true));
        t.put("PUT /v1/migrations/{m}/subscription", db -> body(db).put("copy_data", true).put("binary", false)
                .put("streaming", "on").put("enabled", true).put("check", true).set("connection", connection));
        t.put("POST /v1/migrations/{m}/post-data", db -> body(db).put("jobs", 2).put("check", true));
        t.put("POST /v1/migrations/{m}/preflight", db -> body(db).put("side", "source")
                .put("skip_large_objects", true).set("include_schemas", NODES.arrayNode().add("app")));
        t.put("POST /v1/migrations/{m}/ready-check", db -> body(db).put("side", "source").put("max_lag_bytes", 1024)
                .put("max_lag_seconds", 5.0));
        t.put("PUT /v1/migrations/{m}/fence", db -> body(db).put("terminate", false).put("check", true));
        // A lease the fuzz takes lapses within a second: the changing requests after it may meet 409, never a 5xx.
        t.put("PUT /v1/migrations/{m}/lease", db -> NODES.objectNode().put("owner", "fuzz-run").put("ttl_seconds", 1));
        t.put("POST /v1/migrations/{m}/catch-up", db -> body(db).put("direction", "forward")
                .put("timeout_seconds", 1));
        t.put("PUT /v1/migrations/{m}/catch-up", db -> body(db).put("direction", "reverse").put("check", true));
        t.put("PUT /v1/migrations/{m}/sequences", db -> body(db).put("gap", 0).put("check", true)
                .set("sequences", NODES.arrayNode().add(NODES.objectNode().put("schema", "app").put("name",
                        "counter").put("last_value", 5).put("is_called", true))));
        t.put("POST /v1/migrations/{m}/stop-replication", db -> body(db).put("direction", "forward")
                .put("check", true));
        t.put("PUT /v1/migrations/{m}/reverse-replication", db -> body(db).put("side", "subscriber")
                .put("check", true).set("connection", connection));
        t.put("POST /v1/migrations/{m}/verify", db -> body(db).put("sample_rows", 10).set("tables",
                NODES.arrayNode().add(NODES.objectNode().put("schema", "app").put("name", "items"))));
        t.put("POST /v1/migrations/{m}/verify/snapshot", db -> body(db).put("hold_seconds", 5));
        t.put("POST /v1/migrations/{m}/cleanup", db -> body(db).put("keep_reverse", true).put("check", true));
        ObjectNode items = NODES.objectNode().put("schema", "app").put("name", "items");
        t.put("PUT /v1/migrations/{m}/roles", db -> body(db).put("check", true).set("roles", NODES.arrayNode()));
        t.put("PUT /v1/migrations/{m}/privileges", db -> body(db).put("check", true).set("source",
                NODES.objectNode().put("server_major", 16)));
        t.put("PUT /v1/migrations/{m}/replica-identity", db -> body(db).put("check", true).set("replica_identities",
                NODES.arrayNode().add(items.deepCopy().put("identity", "full"))));
        // A database that does not exist: the copy's check mode would otherwise dial the (unreachable) source.
        t.put("POST /v1/migrations/{m}/copy", db -> body(db + "_absent").put("check", true).put("jobs", 2)
                .set("connection", connection));
        t.put("PUT /v1/migrations/{m}/large-objects", db -> body(db)); // the stream route, fed JSON by mistake
        t.put("POST /v1/migrations/{m}/large-objects/export", db -> body(db).put("data", false).set("oids",
                NODES.arrayNode().add(1).add(2)));
        t.put("PUT /v1/migrations/{m}/large-objects/mark", db -> body(db).put("xmin", "1").put("check", true)
                .set("xids", NODES.arrayNode()));
        t.put("POST /v1/migrations/{m}/materialized-views", db -> body(db).put("check", true).set("source",
                NODES.arrayNode()));
        t.put("POST /v1/migrations/{m}/row-counts", db -> body(db).put("keys", false).set("tables",
                NODES.arrayNode().add(items.deepCopy())));
        t.put("POST /v1/migrations/{m}/row-counts/snapshot", db -> body(db).put("timeout_seconds", 1)
                .put("hold_seconds", 5).set("tables", NODES.arrayNode().add(items.deepCopy())));
        t.put("POST /v1/migrations/{m}/row-counts/changes", db -> body(db).set("tables",
                NODES.arrayNode().add(items.deepCopy())));
        t.put("POST /v1/migrations/{m}/row-counts/lookup", db -> body(db).put("snapshot", "00000003-0000001B-1")
                .set("tables", NODES.arrayNode().add(items.deepCopy().set("keys", NODES.arrayNode()))));
        return t;
    }

    /** Every PUT and POST route of the agent has a template, so a new endpoint is fuzzed from the day it lands. */
    private static void assertEveryBodyRouteHasATemplate(Path dir, Set<String> templated) throws Exception {
        try (AgentHandle probe = AgentHandle.start(cluster, dir.resolve("routes"))) {
            Set<String> withBody = probe.routes().stream().filter(r -> r.startsWith("PUT ") || r.startsWith("POST "))
                    .collect(Collectors.toCollection(java.util.TreeSet::new));
            assertEquals(withBody, new java.util.TreeSet<>(templated), "routes with a body vs fuzz templates");
        }
    }

    // ------------------------------------------------------------ helpers

    private static byte[] asIs(ObjectNode template) {
        return bytes(template);
    }

    private static ObjectNode body(String database) {
        return NODES.objectNode().put("database", database);
    }

    private static ObjectNode replace(ObjectNode t, int index, JsonNode value) {
        ObjectNode c = t.deepCopy();
        List<String> names = new ArrayList<>();
        c.fieldNames().forEachRemaining(names::add);
        c.set(names.get(index % names.size()), value);
        return c;
    }

    private static ObjectNode remove(ObjectNode t, int index) {
        ObjectNode c = t.deepCopy();
        List<String> names = new ArrayList<>();
        c.fieldNames().forEachRemaining(names::add);
        c.remove(names.get(index % names.size()));
        return c;
    }

    /** The template with one field's value replaced by raw JSON text (too deep or long for a tree). */
    private static byte[] raw(ObjectNode t, int index, String text) {
        String s = new String(bytes(replace(t, index, NODES.textNode(RAW))), StandardCharsets.UTF_8);
        return s.replace("\"" + RAW + "\"", text).getBytes(StandardCharsets.UTF_8);
    }

    /** The JSON of a value, with any connection's password taken out (no generated request may connect out). */
    private static byte[] bytes(JsonNode v) {
        JsonNode safe = v.deepCopy();
        disarm(safe);
        try {
            return JSON.writeValueAsBytes(safe);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void disarm(JsonNode n) {
        if (n instanceof ObjectNode o) {
            if (o.get("connection") instanceof ObjectNode c) {
                c.remove("password");
            }
            o.forEach(JsonEndpointsFuzzTest::disarm);
        } else if (n instanceof ArrayNode a) {
            a.forEach(JsonEndpointsFuzzTest::disarm);
        }
    }

    private static String code(HttpResponse<byte[]> r) {
        try {
            JsonNode p = JSON.readTree(r.body());
            return r.statusCode() + " " + (p != null && p.hasNonNull("code") ? p.get("code").asText() : "-");
        } catch (java.io.IOException e) {
            return r.statusCode() + " (not JSON)";
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void run(PgCluster c, String database, String sql) throws Exception {
        try (java.sql.Connection conn = c.connect(database); java.sql.Statement st = conn.createStatement()) {
            st.execute(sql);
        }
    }
}
