package io.pgferry.agent.safety;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.Agent;
import io.pgferry.agent.config.ConfigLoader;
import io.pgferry.agent.testbed.AgentFixture;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PgCluster;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Bad input to the agent's API, against two real PostgreSQL 16 clusters with an agent each: every request here is
 * wrong in one way, gets a 4xx (or the documented 502/503) problem naming the code and the field, and leaves every
 * catalog of both clusters exactly as it was (see {@link CatalogSnapshot}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@SuppressWarnings("unchecked")
class BadInputTest {
    private static final String DB = "shop";
    /** A valid schema name shaped like an injection: it must be quoted, never spliced into SQL. */
    private static final String EVIL = "x\"; DROP TABLE t; --";
    private static final String UNICODE = "ünïcødé";
    private static final String PUBLICATION = "/v1/migrations/safe/publication";
    private static final String ROLE = "/v1/migrations/safe/replication-role";
    private static final String SUBSCRIPTION = "/v1/migrations/safe/subscription";

    PgCluster sourceCluster;
    PgCluster targetCluster;
    AgentHandle source;
    AgentHandle target;
    Path dir;
    String replicationPassword;
    Map<String, String> before;
    final List<String> secrets = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        sourceCluster = PgCluster.create("bad-src-" + run, 16);
        targetCluster = PgCluster.create("bad-dst-" + run, 16);
        dir = Files.createTempDirectory("pgferry-bad-input");
        source = AgentHandle.start(sourceCluster, dir.resolve("source"));
        target = AgentHandle.start(targetCluster, dir.resolve("target"));
        sql(sourceCluster, "postgres", "CREATE DATABASE " + DB);
        sql(sourceCluster, DB, """
                CREATE SCHEMA app;
                CREATE TABLE app.items (id int PRIMARY KEY, v text);
                INSERT INTO app.items SELECT g, 'item ' || g FROM generate_series(1, 10) g;
                CREATE SCHEMA nokey;
                CREATE TABLE nokey.log (a int, b text);
                INSERT INTO nokey.log VALUES (1, 'one');
                CREATE TABLE public.t (id int PRIMARY KEY);
                CREATE SCHEMA "x""; DROP TABLE t; --";
                CREATE TABLE "x""; DROP TABLE t; --".t (id int PRIMARY KEY);
                CREATE SCHEMA "ünïcødé";
                CREATE TABLE "ünïcødé"."tàble" (id int PRIMARY KEY);
                CREATE SCHEMA deferred;
                CREATE TABLE deferred.t (id int PRIMARY KEY DEFERRABLE, v text);
                INSERT INTO deferred.t VALUES (1, 'one');
                CREATE SCHEMA jsonful;
                CREATE TABLE jsonful.doc (a int, j json);
                CREATE SCHEMA split;
                CREATE SCHEMA split_old;
                CREATE TABLE split.ev (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
                CREATE TABLE split.ev_new PARTITION OF split.ev FOR VALUES FROM ('2025-01-01') TO (MAXVALUE);
                CREATE TABLE split_old.ev_old PARTITION OF split.ev FOR VALUES FROM (MINVALUE) TO ('2025-01-01');
                """);
        sql(targetCluster, "postgres", "CREATE DATABASE " + DB);
        sql(targetCluster, DB, "CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY, v text)");
        replicationPassword = AgentFixture.newToken();
        secrets.add(replicationPassword);
        ok(source.put(ROLE, Map.of("database", DB, "password", replicationPassword,
                "include_schemas", List.of("app"))));
        ok(source.put(PUBLICATION, Map.of("database", DB, "include_schemas", List.of("app"))));
    }

    @AfterAll
    void stop() throws Exception {
        for (AgentHandle agent : new AgentHandle[] {source, target}) {
            if (agent == null) {
                continue;
            }
            for (String body : agent.bodies()) {
                for (String secret : secrets) {
                    assertFalse(body.contains(secret), "a password leaked into a response: " + body);
                }
                assertFalse(body.contains(sourceCluster.superuserPassword()), "the admin password leaked: " + body);
            }
            agent.close();
        }
        for (PgCluster c : new PgCluster[] {sourceCluster, targetCluster}) {
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

    @BeforeEach
    void snapshot() throws Exception {
        before = CatalogSnapshot.of(sourceCluster, targetCluster);
    }

    // ------------------------------------------------------------ malformed bodies

    @Test
    void malformedJson() throws Exception {
        Answer a = raw(source, "PUT", PUBLICATION, "{\"database\": \"shop\",");
        refused(a, 400, "invalid_request", "body");
        assertTrue(a.body().get("detail").asText().contains("malformed JSON at line 1"), a.body().toString());
    }

    @Test
    void emptyBody() throws Exception {
        refused(raw(source, "PUT", PUBLICATION, ""), 400, "invalid_request", "body");
    }

    @Test
    void bodyThatIsNotAnObject() throws Exception {
        refused(raw(source, "PUT", PUBLICATION, "[\"shop\"]"), 400, "invalid_request", "body");
    }

    @Test
    void trailingGarbageAfterTheObject() throws Exception {
        refused(raw(source, "PUT", PUBLICATION, "{\"database\": \"shop\"} {\"x\": 1}"), 400, "invalid_request",
                "body");
    }

    @Test
    void unknownFieldIsNamedWithTheKnownOnes() throws Exception {
        Answer a = source.put(PUBLICATION, Map.of("databse", DB));
        refused(a, 400, "invalid_request", "databse");
        assertTrue(a.body().get("detail").asText().contains("database"), a.body().toString());
    }

    @Test
    void missingRequiredField() throws Exception {
        refused(source.put(PUBLICATION, Map.of("include_schemas", List.of("app"))), 400, "invalid_request",
                "database");
    }

    @Test
    void nullForARequiredField() throws Exception {
        refused(raw(source, "PUT", PUBLICATION, "{\"database\": null}"), 400, "invalid_request", "database");
    }

    @Test
    void stringWhereAListBelongs() throws Exception {
        refused(source.put(PUBLICATION, Map.of("database", DB, "include_schemas", "app")), 400, "invalid_request",
                "include_schemas");
    }

    @Test
    void stringWhereABooleanBelongs() throws Exception {
        refused(source.put(PUBLICATION, Map.of("database", DB, "check", "yes")), 400, "invalid_request", "check");
    }

    @Test
    void numberWhereAPasswordBelongs() throws Exception {
        refused(raw(source, "PUT", ROLE, "{\"database\": \"shop\", \"password\": 12345}"), 400, "invalid_request",
                "password");
    }

    @Test
    void duplicateFieldIsRefusedNotLastOneWins() throws Exception {
        refused(raw(source, "PUT", PUBLICATION, "{\"database\": \"nope\", \"database\": \"shop\"}"), 400,
                "invalid_request", "database");
    }

    @Test
    void tableWithoutNameNamesTheNestedField() throws Exception {
        refused(source.put(PUBLICATION, Map.of("database", DB, "include_tables",
                List.of(Map.of("schema", "app", "name", "items"), Map.of("schema", "app")))), 400,
                "invalid_request", "include_tables[1].name");
    }

    /** Found by the fuzz run: a null in a table list reached List.copyOf in the service, a 500. */
    @Test
    void nullInATableListIsNamed() throws Exception {
        List<Object> tables = new ArrayList<>();
        tables.add(null);
        refused(source.post("/v1/migrations/safe/schema-archive", Map.of("database", DB, "exclude_tables", tables)),
                400, "invalid_request", "exclude_tables[0]");
    }

    @Test
    void tableAsADottedStringIsTheWrongType() throws Exception {
        refused(source.put(PUBLICATION, Map.of("database", DB, "include_tables", List.of("app.items"))), 400,
                "invalid_request", "include_tables[0]");
    }

    @Test
    void bodyOverTheSizeLimitIs413() throws Exception {
        String big = "{\"database\": \"shop\", \"include_schemas\": [\"" + "a".repeat(1024 * 1024) + "\"]}";
        tooLarge(PUBLICATION, big);
    }

    /**
     * The agent answers 413 as soon as the body passes the limit and closes the connection, possibly while the client
     * still writes the rest: then the client sees a reset instead of the answer (HttpLimitsTest's race). A reset is
     * tried again, at most three times.
     */
    private void tooLarge(String path, String body) throws Exception {
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                refused(raw(source, "PUT", path, body), 413, "body_too_large", null);
                return;
            } catch (IOException e) {
                last = e;
            }
        }
        throw last;
    }

    @Test
    void privilegesBodiesGetTheirOwnLimit() throws Exception {
        // The source's privileges grow with the schema: past the 1 MiB of other JSON bodies the body is read and
        // judged (here: an unknown field), past 32 MiB it is refused unread.
        String path = "/v1/migrations/safe/privileges";
        String overOneMiB = "{\"database\": \"shop\", \"padding\": \"" + "a".repeat(2 * 1024 * 1024) + "\"}";
        refused(raw(source, "PUT", path, overOneMiB), 400, "invalid_request", "padding");
        tooLarge(path, "{\"database\": \"shop\", \"padding\": \"" + "a".repeat(33 * 1024 * 1024) + "\"}");
    }

    @Test
    void privilegesTakeTheSourcesSetOrAConnectionNotBoth() throws Exception {
        String path = "/v1/migrations/safe/privileges";
        Map<String, Object> connection = Map.of("host", "127.0.0.1", "port", 1, "dbname", DB, "user", "r",
                "password", "x");
        refused(source.put(path, Map.of("database", DB, "source", Map.of("server_major", 16),
                "connection", connection)), 400, "invalid_request", "source");
        refused(source.put(path, Map.of("database", DB)), 400, "invalid_request", "source");
    }

    // ------------------------------------------------------------ names

    @Test
    void schemaNameOver63BytesIsRefusedNotTruncated() throws Exception {
        refused(source.put(PUBLICATION, Map.of("database", DB, "include_schemas", List.of("app", "s".repeat(64)))),
                400, "invalid_request", "include_schemas[1]");
    }

    @Test
    void databaseNameOver63Bytes() throws Exception {
        refused(source.put(PUBLICATION, Map.of("database", "d".repeat(64))), 400, "invalid_request", "database");
    }

    @Test
    void namesAreMeasuredInBytesNotCharacters() throws Exception {
        // 32 characters, 64 bytes in UTF-8.
        refused(source.put(PUBLICATION, Map.of("database", DB, "exclude_schemas", List.of("é".repeat(32)))), 400,
                "invalid_request", "exclude_schemas[0]");
    }

    @Test
    void nulInAName() throws Exception {
        refused(source.put(PUBLICATION, Map.of("database", DB, "include_schemas", List.of("ap\u0000p"))), 400,
                "invalid_request", "include_schemas[0]");
    }

    @Test
    void injectionShapedNamesThatDoNotExistAreUnknownObjects() throws Exception {
        Answer a = source.put(PUBLICATION, Map.of("database", DB, "include_schemas",
                List.of("app\"; DROP TABLE public.t; --", "app'); DROP TABLE public.t; --")));
        refused(a, 422, "unknown_objects", null);
        assertEquals("1", one(sourceCluster, DB, "SELECT count(*) FROM pg_class WHERE oid = 'public.t'::regclass"));
    }

    @Test
    void injectionShapedAndUnicodeNamesThatExistAreTakenLiterally() throws Exception {
        String path = "/v1/migrations/literal/publication";
        JsonNode done = ok(source.put(path, Map.of("database", DB, "include_schemas", List.of(EVIL, UNICODE))));
        assertTrue(done.get("changed").asBoolean());
        assertEquals("\"x\"\"; DROP TABLE t; --\".t,\"ünïcødé\".\"tàble\"", one(sourceCluster, DB,
                "SELECT string_agg(format('%I.%I', schemaname, tablename), ','"
                        + " ORDER BY format('%I.%I', schemaname, tablename) COLLATE \"C\")"
                        + " FROM pg_publication_tables WHERE pubname = 'pgferry_literal'"));
        assertEquals("1", one(sourceCluster, DB, "SELECT count(*) FROM pg_class WHERE oid = 'public.t'::regclass"));
        assertFalse(ok(source.put(path, Map.of("database", DB, "include_schemas", List.of(EVIL, UNICODE))))
                .get("changed").asBoolean(), "a rerun changes nothing");
        ok(source.delete(path + "?database=" + DB));
        assertEquals(before, CatalogSnapshot.of(sourceCluster, targetCluster), "created and dropped again");
    }

    // ------------------------------------------------------------ the path and the query

    @Test
    void migrationIdWithCapitalsAndDashes() throws Exception {
        refused(source.put("/v1/migrations/Bad-Id/publication", Map.of("database", DB)), 400, "invalid_request",
                "migration");
    }

    @Test
    void migrationIdOver40Characters() throws Exception {
        refused(source.put("/v1/migrations/" + "m".repeat(41) + "/publication", Map.of("database", DB)), 400,
                "invalid_request", "migration");
    }

    @Test
    void migrationIdShapedLikeAnInjection() throws Exception {
        refused(source.put("/v1/migrations/x%22%3B%20DROP%20ROLE%20postgres%3B/replication-role",
                Map.of("database", DB, "password", "whatever-password")), 400, "invalid_request", "migration");
        refused(source.delete("/v1/migrations/a'b/publication?database=shop"), 400, "invalid_request", "migration");
    }

    @Test
    void deleteWithoutTheDatabaseParameter() throws Exception {
        refused(source.delete(PUBLICATION), 400, "invalid_request", "database");
    }

    @Test
    void deleteWithABadCheckParameter() throws Exception {
        refused(source.delete(PUBLICATION + "?database=shop&check=maybe"), 400, "invalid_request", "check");
    }

    @Test
    void badWaitParameter() throws Exception {
        refused(target.post("/v1/migrations/safe/schema-apply?wait=forever", Map.of("database", DB)), 400,
                "invalid_request", "wait");
        refused(target.get("/v1/migrations/safe/sync-status?database=" + DB + "&wait=301"), 400, "invalid_request",
                "wait");
    }

    @Test
    void unknownRouteAndWrongMethod() throws Exception {
        refused(source.put("/v1/migrations/safe/nonsense", Map.of("database", DB)), 404, "not_found", null);
        refused(raw(source, "PATCH", PUBLICATION, "{\"database\": \"shop\"}"), 405, "method_not_allowed", null);
        // A refused request must not leave its migration locked: the same call works afterwards.
        refused(source.put("/v1/migrations/safe/nonsense", Map.of("database", DB)), 404, "not_found", null);
    }

    @Test
    void unknownJob() throws Exception {
        refused(target.get("/v1/jobs/schema-apply:nope"), 404, "job_not_found", null);
    }

    // ------------------------------------------------------------ things that do not exist

    @Test
    void unknownDatabase() throws Exception {
        refused(source.put(PUBLICATION, Map.of("database", "nope")), 404, "database_not_found", null);
        refused(source.delete(PUBLICATION + "?database=nope"), 404, "database_not_found", null);
        refused(target.get("/v1/migrations/safe/sync-status?database=nope"), 404, "database_not_found", null);
    }

    @Test
    void unknownSchemaAndTable() throws Exception {
        refused(source.put(PUBLICATION, Map.of("database", DB, "include_schemas", List.of("app", "nosuch"))), 422,
                "unknown_objects", null);
        refused(source.put(PUBLICATION, Map.of("database", DB, "include_tables",
                List.of(Map.of("schema", "app", "name", "nosuch")))), 422, "unknown_objects", null);
    }

    @Test
    void replicationRoleWithUnknownSchemaKeepsItsPassword() throws Exception {
        refused(source.put(ROLE, Map.of("database", DB, "password", "a-new-password-never-set",
                "include_schemas", List.of("nosuch"))), 422, "unknown_objects", null);
    }

    @Test
    void keylessTableInScopeIsRefusedAndStillTakesUpdates() throws Exception {
        Answer a = source.put("/v1/migrations/nokey/publication", Map.of("database", DB, "include_schemas",
                List.of("nokey")));
        refused(a, 422, "table_without_replica_identity", null);
        assertTrue(a.body().get("objects").toString().contains("nokey"), a.body().toString());
        sql(sourceCluster, DB, "UPDATE nokey.log SET b = 'still writable'; DELETE FROM nokey.log WHERE a = 2");
        assertEquals("still writable", one(sourceCluster, DB, "SELECT b FROM nokey.log"));
    }

    @Test
    void deferrableKeyIsNoIdentityAndTheTableStillTakesUpdates() throws Exception {
        Answer a = source.put("/v1/migrations/deferred/publication", Map.of("database", DB, "include_schemas",
                List.of("deferred")));
        refused(a, 422, "table_without_replica_identity", null);
        assertEquals("[\"\\\"deferred\\\".\\\"t\\\"\"]", a.body().get("objects").toString());
        sql(sourceCluster, DB, "UPDATE deferred.t SET v = 'still writable'");
        assertEquals("still writable", one(sourceCluster, DB, "SELECT v FROM deferred.t"));
    }

    @Test
    void fullIdentityOverAColumnWithoutEqualityIsRefused() throws Exception {
        Answer a = source.put("/v1/migrations/jsonful/publication", Map.of("database", DB, "include_schemas",
                List.of("jsonful"), "replica_identity_full", List.of(Map.of("schema", "jsonful", "name", "doc"))));
        refused(a, 422, "replica_identity_full_uncomparable", null);
        assertTrue(a.body().get("detail").asText().contains("json"), a.body().toString());
    }

    @Test
    void scopeLeavingOutAPartitionIsRefused() throws Exception {
        Answer a = source.put("/v1/migrations/split/publication", Map.of("database", DB, "include_schemas",
                List.of("split")));
        refused(a, 422, "scope_splits_tables", null);
        assertTrue(a.body().get("objects").toString().contains("ev_old"), a.body().toString());
        refused(source.post("/v1/migrations/split/schema-archive", Map.of("database", DB, "include_schemas",
                List.of("split"))), 422, "scope_splits_tables", null);
    }

    /**
     * Once the migration's slot exists its stream has begun: a rerun whose scope adds a table (one created on the
     * source since, or a wider include) or leaves one out is refused by the preflight and the publication step, and
     * the publication keeps its tables. Before, the table was added and the subscription stopped at its first change
     * ("logical replication target relation does not exist"); a table dropped stopped receiving changes.
     */
    @Test
    void scopeOfARunningStreamIsNotChanged() throws Exception {
        sql(sourceCluster, DB, "SELECT pg_create_logical_replication_slot('pgferry_safe', 'pgoutput')");
        try {
            before = CatalogSnapshot.of(sourceCluster, targetCluster);
            Answer wider = source.put(PUBLICATION, Map.of("database", DB, "include_schemas", List.of("app", UNICODE)));
            refused(wider, 409, "scope_changed", null);
            assertEquals("[\"add \\\"ünïcødé\\\".\\\"tàble\\\"\"]", wider.body().get("objects").toString());
            Answer other = source.put(PUBLICATION, Map.of("database", DB, "include_schemas", List.of(EVIL)));
            refused(other, 409, "scope_changed", null);
            assertTrue(other.body().get("detail").asText().contains("pgferry_cleanup_abandon=safe"), other.body()
                    .toString());
            assertEquals(2, other.body().get("objects").size(), other.body().toString());

            Map<String, Object> preflight = new LinkedHashMap<>(Map.of("side", "source", "database", DB,
                    "include_schemas", List.of("app", UNICODE)));
            JsonNode found = ok(source.post("/v1/migrations/safe/preflight", preflight));
            assertFalse(found.get("ok").asBoolean(), found.toString());
            assertTrue(found.get("findings").toString().contains("\"code\":\"scope_changed\""), found.toString());
            assertEquals(before, CatalogSnapshot.of(sourceCluster, targetCluster), "the preflight changed nothing");

            // The scope it started with is still fine: nothing to change.
            assertFalse(ok(source.put(PUBLICATION, Map.of("database", DB, "include_schemas", List.of("app"))))
                    .get("changed").asBoolean());
        } finally {
            sql(sourceCluster, DB, "SELECT pg_drop_replication_slot('pgferry_safe')");
        }
    }

    @Test
    void databaseWithUnknownOwnerAndEncoding() throws Exception {
        refused(target.put("/v1/migrations/safe/database", Map.of("database", "fresh", "owner", "nobody_here")), 422,
                "owner_missing", null);
        refused(target.put("/v1/migrations/safe/database", Map.of("database", "fresh", "encoding", "KLINGON")), 422,
                "invalid_encoding", null);
        refused(target.put("/v1/migrations/safe/database", Map.of("database", "fresh", "owner", "o".repeat(64))),
                400, "invalid_request", "owner");
    }

    // ------------------------------------------------------------ the subscription's connection

    @Test
    void wrongReplicationPasswordLeavesNoSubscriptionAndNoSlot() throws Exception {
        String wrong = "wrong-" + AgentFixture.newToken();
        secrets.add(wrong);
        Answer a = target.put(SUBSCRIPTION, subscription("127.0.0.1", sourceCluster.port(), wrong));
        refused(a, 502, "source_unreachable", null);
        assertTrue(a.body().get("detail").asText().contains("password authentication failed"), a.body().toString());
        assertEquals("0", one(targetCluster, DB, "SELECT count(*) FROM pg_subscription"));
        assertEquals("0", one(sourceCluster, DB, "SELECT count(*) FROM pg_replication_slots"));
    }

    /** Rows already in a table the table sync would copy: the step refuses to add the source's rows to them. */
    @Test
    void subscriptionIntoTablesThatHoldRowsIsRefused() throws Exception {
        sql(targetCluster, DB, "INSERT INTO app.items VALUES (1, 'already here')");
        try {
            before = CatalogSnapshot.of(sourceCluster, targetCluster);
            Answer a = target.put(SUBSCRIPTION, subscription("127.0.0.1", sourceCluster.port(), replicationPassword));
            refused(a, 422, "target_tables_not_empty", null);
            assertEquals("[\"\\\"app\\\".\\\"items\\\"\"]", a.body().get("objects").toString());
            assertEquals("0", one(targetCluster, DB, "SELECT count(*) FROM pg_subscription"));
            assertEquals("0", one(sourceCluster, DB, "SELECT count(*) FROM pg_replication_slots"));
            assertEquals("1", one(targetCluster, DB, "SELECT count(*) FROM app.items"));
        } finally {
            sql(targetCluster, DB, "TRUNCATE app.items");
        }
    }

    @Test
    void unreachableSourceHost() throws Exception {
        refused(target.put(SUBSCRIPTION, subscription("127.0.0.1", AgentFixture.freePort(), replicationPassword)),
                502, "source_unreachable", null);
        refused(target.put(SUBSCRIPTION, subscription("no-such-host.invalid", 5432, replicationPassword)), 502,
                "source_unreachable", null);
    }

    @Test
    void badConnectionFields() throws Exception {
        refused(target.put(SUBSCRIPTION, subscription("127.0.0.1", 70000, replicationPassword)), 400,
                "invalid_request", "connection.port");
        Map<String, Object> body = subscription("127.0.0.1", sourceCluster.port(), replicationPassword);
        ((Map<String, Object>) body.get("connection")).put("sslmode", "sometimes");
        refused(target.put(SUBSCRIPTION, body), 400, "invalid_request", "connection.sslmode");
        body = subscription("127.0.0.1", sourceCluster.port(), replicationPassword);
        ((Map<String, Object>) body.get("connection")).remove("password");
        refused(target.put(SUBSCRIPTION, body), 400, "invalid_request", "connection.password");
        body = subscription("127.0.0.1", sourceCluster.port(), replicationPassword);
        body.put("streaming", "sometimes");
        refused(target.put(SUBSCRIPTION, body), 400, "invalid_request", "streaming");
    }

    @Test
    void connectionValuesWithQuotesAreNotSplicedIntoTheConninfo() throws Exception {
        // A user name that would add "host=evil" to a naively built conninfo: quoted, it is just a wrong user.
        Map<String, Object> body = subscription("127.0.0.1", sourceCluster.port(), "pw' host=203.0.113.1 x='");
        ((Map<String, Object>) body.get("connection")).put("user", "pgferry_safe' host='203.0.113.1");
        Answer a = target.put(SUBSCRIPTION, body);
        refused(a, 502, "source_unreachable", null);
        assertFalse(a.body().get("detail").asText().contains("203.0.113.1\" "), a.body().toString());
    }

    // ------------------------------------------------------------ the agent's own login

    @Test
    void wrongAdminPasswordIs503AndNamesTheServer() throws Exception {
        Path adir = dir.resolve("wrong-admin");
        Files.createDirectories(adir);
        String token = AgentFixture.newToken();
        Path tokenFile = AgentFixture.secretFile(adir, "token", token);
        Path pwFile = AgentFixture.secretFile(adir, "pw", "not-the-admin-password");
        Path yaml = adir.resolve("agent.yaml");
        int port = AgentFixture.freePort();
        Files.writeString(yaml, """
                listen_port: %d
                token_file: %s
                postgres:
                  host: %s
                  port: %d
                  user: %s
                  password_file: %s
                pg_bin_dir: %s
                state_dir: %s
                """.formatted(port, tokenFile, sourceCluster.host(), sourceCluster.port(), sourceCluster.superuser(),
                pwFile, sourceCluster.binDir(), adir.resolve("state")));
        try (Agent agent = Agent.start(ConfigLoader.load(yaml, Map.of(), List.of()), System.getenv("PATH"))) {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + agent.port() + PUBLICATION))
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"database\": \"shop\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(503, r.statusCode(), r.body());
            JsonNode p = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body());
            assertEquals("postgres_unavailable", p.get("code").asText());
            assertTrue(p.get("detail").asText().contains("28P01"), p.toString());
            assertFalse(r.body().contains("not-the-admin-password"), r.body());
        }
        assertEquals(before, CatalogSnapshot.of(sourceCluster, targetCluster));
    }

    // ------------------------------------------------------------ helpers

    private Map<String, Object> subscription(String host, int port, String password) {
        Map<String, Object> connection = new LinkedHashMap<>();
        connection.put("host", host);
        connection.put("port", port);
        connection.put("dbname", DB);
        connection.put("user", "pgferry_safe");
        connection.put("password", password);
        connection.put("sslmode", "disable");
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("database", DB);
        body.put("connection", connection);
        return body;
    }

    /** The status, the code, the field (null: the problem must name none), and no catalog changed. */
    private void refused(Answer a, int status, String code, String field) throws Exception {
        assertEquals(status, a.status(), () -> a.body() == null ? new String(a.raw()) : a.body().toString());
        assertTrue(a.response().headers().firstValue("Content-Type").orElse("").startsWith(
                "application/problem+json"), "a problem document");
        assertEquals(code, a.body().path("code").asText(), a.body().toString());
        assertEquals(status, a.body().path("status").asInt(), a.body().toString());
        assertTrue(a.body().path("detail").asText().length() > 10, "a detail that says what to do: " + a.body());
        if (field != null) {
            assertEquals(field, a.body().path("field").asText(), a.body().toString());
        }
        assertEquals(before, CatalogSnapshot.of(sourceCluster, targetCluster), "a refused request changed nothing");
    }

    private static JsonNode ok(Answer a) {
        assertEquals(200, a.status(), () -> a.body() == null ? "no body" : a.body().toString());
        return a.body();
    }

    /** A request with a body sent as is, for bodies the JSON helpers cannot make. */
    private static Answer raw(AgentHandle agent, String method, String path, String body) throws Exception {
        return agent.send(method, path, body.getBytes(StandardCharsets.UTF_8));
    }

    static void sql(PgCluster cluster, String database, String sql) throws Exception {
        try (Connection c = cluster.connect(database); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    static String one(PgCluster cluster, String database, String sql) throws Exception {
        try (Connection c = cluster.connect(database); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

}
