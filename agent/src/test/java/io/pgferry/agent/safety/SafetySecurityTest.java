package io.pgferry.agent.safety;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgferry.agent.config.ConfigException;
import io.pgferry.agent.config.ConfigLoader;
import io.pgferry.agent.testbed.AgentFixture;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PgBed;
import io.pgferry.agent.testbed.PgCluster;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The API's guards: the token on every route, the token file's mode, one mutating call per migration at a time. */
@PgBed(major = 16)
class SafetySecurityTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static PgCluster cluster;
    static AgentHandle agent;
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("pgferry-safety");
        agent = AgentHandle.start(cluster, dir);
        BadInputTest.sql(cluster, "postgres", "CREATE DATABASE shop");
        BadInputTest.sql(cluster, "shop", "CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY);"
                + " CREATE SCHEMA other; CREATE TABLE other.things (id int PRIMARY KEY);");
    }

    @AfterAll
    static void stop() {
        if (agent != null) {
            for (String body : agent.bodies()) {
                assertFalse(body.contains(agent.token()), "the token leaked into a response");
            }
            agent.close();
        }
    }

    @Test
    void everyRouteButHealthAnswers401WithoutTheRightToken() throws Exception {
        List<String> routes = agent.routes();
        assertTrue(routes.size() >= 15, "the agent's routes: " + routes);
        assertTrue(routes.contains("PUT /v1/migrations/{m}/subscription"), routes.toString());
        String wrong = AgentFixture.newToken();
        String token = agent.token();
        for (String route : routes) {
            String method = route.substring(0, route.indexOf(' '));
            String path = route.substring(route.indexOf(' ') + 1).replace("{m}", "safe").replace("{id}", "job")
                    .replaceAll("\\{[^}]+}", "x") + "?database=shop";
            if (path.startsWith("/v1/health")) {
                assertTrue(List.of(200, 503).contains(send(method, path, null).statusCode()), route);
                continue;
            }
            for (String auth : new String[] {null, "Bearer " + wrong, "Bearer " + token + "x", "Bearer " + token
                    .substring(1), "Basic " + token, "Bearer", "Bearer  ", token}) {
                HttpResponse<String> r = send(method, path, auth);
                assertEquals(401, r.statusCode(), route + " with " + (auth == null ? "no header" : "a bad header"));
                JsonNode p = JSON.readTree(r.body());
                assertEquals("unauthorized", p.get("code").asText(), route);
                assertEquals("Bearer", r.headers().firstValue("WWW-Authenticate").orElse(""), route);
                assertFalse(r.body().contains(token), route);
            }
        }
        // Unknown paths too: nothing about the API's shape without the token.
        assertEquals(401, send("GET", "/v1/migrations/safe/nonsense", null).statusCode());
        assertEquals(401, send("DELETE", "/v2/anything", null).statusCode());
        // And the right token, in any case of the scheme's name, passes.
        assertEquals(200, send("GET", "/v1/info", "bearer " + token).statusCode());
        assertEquals(200, send("GET", "/v1/info", "BEARER " + token).statusCode());
    }

    @Test
    void tokenFileOpenToGroupOrOthersIsRefused(@TempDir Path tmp) throws Exception {
        for (String mode : List.of("rw-r-----", "rw----r--", "rw-rw-rw-", "rw--w----")) {
            Path token = AgentFixture.secretFile(tmp, "token", AgentFixture.newToken());
            Files.setPosixFilePermissions(token, PosixFilePermissions.fromString(mode));
            ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(null,
                    Map.of("PGFERRY_TOKEN_FILE", token.toString(), "PGFERRY_STATE_DIR", tmp.resolve("s").toString()),
                    List.of()), mode);
            String errors = String.join("\n", e.errors());
            assertTrue(errors.contains("open to group or others") && errors.contains("chmod 600"), errors);
        }
        Path token = AgentFixture.secretFile(tmp, "token", AgentFixture.newToken());
        assertEquals(token, ConfigLoader.load(null, Map.of("PGFERRY_TOKEN_FILE", token.toString(),
                "PGFERRY_STATE_DIR", tmp.resolve("s").toString()), List.of()).tokenFile());
    }

    @Test
    void shortTokenIsRefused(@TempDir Path tmp) throws Exception {
        Path token = AgentFixture.secretFile(tmp, "token", "short");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(null,
                Map.of("PGFERRY_TOKEN_FILE", token.toString(), "PGFERRY_STATE_DIR", tmp.resolve("s").toString()),
                List.of()));
        assertTrue(String.join("\n", e.errors()).contains("shorter than 16"), e.errors().toString());
    }

    @Test
    void weakTokensAndKeysAreRefusedNamingTheFix(@TempDir Path tmp) throws Exception {
        Map<String, String> weak = Map.of(
                "aaaaaaaaaaaaaaaa", "the same 1 character(s) repeated",
                "REPLACE-with-a-random-token-for-db1", "a placeholder",
                "abababababababab", "the same 2 character(s) repeated",
                "changeme-changeme-2024", "a placeholder",
                "aaaaaaaaaaaaaaab", "too little randomness");
        for (Map.Entry<String, String> w : weak.entrySet()) {
            Path token = AgentFixture.secretFile(tmp, "token", w.getKey());
            ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(null,
                    Map.of("PGFERRY_TOKEN_FILE", token.toString(), "PGFERRY_STATE_DIR", tmp.resolve("s").toString()),
                    List.of()), w.getKey());
            String errors = String.join("\n", e.errors());
            assertTrue(errors.contains(w.getValue()) && errors.contains("openssl rand -hex 32"), errors);
            assertFalse(errors.contains(w.getKey()), "the weak token itself is not echoed: " + errors);
        }
        Path token = AgentFixture.secretFile(tmp, "token", AgentFixture.newToken());
        Path key = AgentFixture.secretFile(tmp, "key", "too-short-" + AgentFixture.newToken().substring(0, 8));
        Path same = AgentFixture.secretFile(tmp, "same", Files.readString(token).strip());
        for (Path k : List.of(key, same)) {
            ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(null, Map.of(
                    "PGFERRY_TOKEN_FILE", token.toString(), "PGFERRY_STATE_DIR", tmp.resolve("s").toString(),
                    "PGFERRY_ARCHIVE_KEY_FILE", k.toString()), List.of()));
            assertTrue(String.join("\n", e.errors()).startsWith("archive_key_file: " + k), e.errors().toString());
        }
    }

    @Test
    void aNetworkAddressWithoutTlsIsRefusedUnlessAllowed(@TempDir Path tmp) throws Exception {
        Path token = AgentFixture.secretFile(tmp, "token", AgentFixture.newToken());
        Map<String, String> env = Map.of("PGFERRY_TOKEN_FILE", token.toString(), "PGFERRY_STATE_DIR",
                tmp.resolve("s").toString(), "PGFERRY_LISTEN_ADDRESS", "0.0.0.0");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(null, env, List.of()));
        String errors = String.join("\n", e.errors());
        assertTrue(errors.contains("listen_address: 0.0.0.0") && errors.contains("not a loopback address")
                && errors.contains("tls_cert_file") && errors.contains("allow_plain_http"), errors);
        Map<String, String> allowed = new java.util.HashMap<>(env);
        allowed.put("PGFERRY_ALLOW_PLAIN_HTTP", "true");
        assertTrue(ConfigLoader.load(null, allowed, List.of()).allowPlainHttp());
        for (String loopback : List.of("127.0.0.1", "::1", "localhost", "127.0.0.2")) {
            Map<String, String> local = new java.util.HashMap<>(env);
            local.put("PGFERRY_LISTEN_ADDRESS", loopback);
            assertEquals(loopback, ConfigLoader.load(null, local, List.of()).listenAddress());
        }
    }

    @Test
    void aSecondMutatingCallOnTheSameMigrationIs409WhileTheFirstRuns() throws Exception {
        String publication = "/v1/migrations/conc/publication";
        try (Connection locker = cluster.connect("shop"); Statement st = locker.createStatement()) {
            locker.setAutoCommit(false);
            st.execute("LOCK TABLE app.items IN ACCESS EXCLUSIVE MODE");
            CompletableFuture<Answer> first = CompletableFuture.supplyAsync(() -> {
                try {
                    return agent.put(publication, Map.of("database", "shop", "include_schemas", List.of("app")));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            awaitLockWait();
            Answer second = agent.put("/v1/migrations/conc/replication-role", Map.of("database", "shop",
                    "password", "another-password-123", "include_schemas", List.of("app")));
            assertEquals(409, second.status(), second.body().toString());
            assertEquals("operation_in_progress", second.body().get("code").asText());
            assertTrue(second.body().get("detail").asText().contains("PUT /v1/migrations/conc/publication"),
                    second.body().toString());
            assertEquals(409, agent.delete(publication + "?database=shop").status(), "DELETE too");
            assertEquals("0", BadInputTest.one(cluster, "shop",
                    "SELECT count(*) FROM pg_roles WHERE rolname = 'pgferry_conc'"), "the refused call did nothing");
            // Reads are never blocked, nor are other migrations.
            assertTrue(agent.get("/v1/migrations/conc/status?database=shop").status() != 409);
            assertEquals(200, agent.put("/v1/migrations/other/publication", Map.of("database", "shop",
                    "include_schemas", List.of("other"))).status());
            assertFalse(first.isDone(), "the first call still waits for the lock");
            locker.rollback();
            Answer done = first.get();
            assertEquals(200, done.status(), done.body().toString());
        }
        // Once the first answered, the migration is free again.
        assertEquals(200, agent.put("/v1/migrations/conc/replication-role", Map.of("database", "shop",
                "password", "another-password-123", "include_schemas", List.of("app"))).status());
        assertEquals(200, agent.delete(publication + "?database=shop").status());
        assertEquals(200, agent.delete("/v1/migrations/other/publication?database=shop").status());
    }

    /** Until the agent's session waits for the test's lock. */
    private static void awaitLockWait() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!"1".equals(BadInputTest.one(cluster, "shop", "SELECT count(*) FROM pg_stat_activity WHERE"
                + " application_name = 'pgferry-agent' AND wait_event_type = 'Lock'"))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the agent never waited for the lock");
            }
            Thread.sleep(50);
        }
    }

    private static HttpResponse<String> send(String method, String path, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(agent.base().resolve(path)).timeout(Duration.ofSeconds(30))
                .method(method, method.equals("GET") || method.equals("DELETE")
                        ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString("{}"));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
