package io.pgferry.agent.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgferry.agent.Agent;
import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.config.ConfigLoader;
import io.pgferry.agent.testbed.AgentFixture;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may call each route and which routes take the migration's lock, as the agent answers (no PostgreSQL needed:
 * it starts without one). Every route is pinned to one of three sets; a new route fails here until it is put in
 * the set its registration declares (http.Access), so a read-only POST cannot take the lock unnoticed, nor a route
 * open up; a route that declares nothing keeps the agent from starting.
 */
class RouteAccessTest {
    /** Answered without the token. */
    private static final Set<String> PUBLIC = Set.of(
            "GET /v1/health",
            "GET /v1/health/live",
            "GET /v1/health/ready");
    /** The token, and the migration's lock: a second such call on the same migration is refused with 409. */
    private static final Set<String> LOCKED = Set.of(
            "DELETE /v1/migrations/{m}/catch-up",
            "DELETE /v1/migrations/{m}/fence",
            "DELETE /v1/migrations/{m}/publication",
            "DELETE /v1/migrations/{m}/row-counts/snapshot",
            "DELETE /v1/migrations/{m}/subscription",
            "DELETE /v1/migrations/{m}/verify/snapshot",
            "POST /v1/migrations/{m}/cleanup",
            "POST /v1/migrations/{m}/large-objects/export",
            "POST /v1/migrations/{m}/materialized-views",
            "POST /v1/migrations/{m}/schema-archive",
            "POST /v1/migrations/{m}/stop-replication",
            "PUT /v1/migrations/{m}/catch-up",
            "PUT /v1/migrations/{m}/database",
            "PUT /v1/migrations/{m}/fence",
            "PUT /v1/migrations/{m}/large-objects",
            "PUT /v1/migrations/{m}/large-objects/mark",
            "PUT /v1/migrations/{m}/privileges",
            "PUT /v1/migrations/{m}/publication",
            "PUT /v1/migrations/{m}/replica-identity",
            "PUT /v1/migrations/{m}/replication-role",
            "PUT /v1/migrations/{m}/reverse-replication",
            "PUT /v1/migrations/{m}/roles",
            "PUT /v1/migrations/{m}/schema-archive",
            "PUT /v1/migrations/{m}/schema-archive/manifest",
            "PUT /v1/migrations/{m}/sequences",
            "PUT /v1/migrations/{m}/subscription");
    /** The token, no lock: reads, the checks and waits that only read, and the POSTs that start a job. */
    private static final Set<String> UNLOCKED = Set.of(
            "GET /metrics",
            "GET /v1/info",
            "GET /v1/jobs/{id}",
            "GET /v1/migrations/{m}/copy",
            "GET /v1/migrations/{m}/fence",
            "GET /v1/migrations/{m}/large-objects",
            "GET /v1/migrations/{m}/left-behind",
            "GET /v1/migrations/{m}/lifecycle",
            "GET /v1/migrations/{m}/materialized-views",
            "GET /v1/migrations/{m}/privileges",
            "GET /v1/migrations/{m}/roles",
            "GET /v1/migrations/{m}/schema-archive",
            "GET /v1/migrations/{m}/schema-archive/manifest",
            "GET /v1/migrations/{m}/sequences",
            "GET /v1/migrations/{m}/status",
            "GET /v1/migrations/{m}/sync-status",
            "GET /v1/migrations/{m}/transactions",
            "GET /v1/openapi.json",
            "GET /v1/orphans",
            "DELETE /v1/migrations/{m}/lease",
            "PUT /v1/migrations/{m}/lease",
            "POST /v1/migrations/{m}/catch-up",
            "POST /v1/migrations/{m}/copy",
            "POST /v1/migrations/{m}/post-data",
            "POST /v1/migrations/{m}/preflight",
            "POST /v1/migrations/{m}/ready-check",
            "POST /v1/migrations/{m}/row-counts",
            "POST /v1/migrations/{m}/row-counts/changes",
            "POST /v1/migrations/{m}/row-counts/lookup",
            "POST /v1/migrations/{m}/row-counts/snapshot",
            "POST /v1/migrations/{m}/schema-apply",
            "POST /v1/migrations/{m}/verify",
            "POST /v1/migrations/{m}/verify/snapshot");
    /** A route that takes the lock, to see whether it is held. */
    private static final String PROBE = "PUT /v1/migrations/{m}/replication-role";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path dir;

    @Test
    void everyRouteIsPublicLockedOrUnlockedAsPinned() throws Exception {
        String token = AgentFixture.newToken();
        try (Agent agent = start(token, "")) {
            List<String> routes = routes(agent);
            Set<String> pinned = new TreeSet<>(PUBLIC);
            pinned.addAll(LOCKED);
            pinned.addAll(UNLOCKED);
            assertEquals(PUBLIC.size() + LOCKED.size() + UNLOCKED.size(), pinned.size(), "a route pinned twice");
            assertEquals(pinned, new TreeSet<>(routes), "pin each new route in PUBLIC, LOCKED or UNLOCKED, as its "
                    + "registration declares it");

            Set<String> open = new TreeSet<>();
            for (String route : routes) {
                if (send(agent, route, null).statusCode() != 401) {
                    open.add(route);
                }
            }
            assertEquals(new TreeSet<>(PUBLIC), open, "the routes answered without the token");

            Set<String> locked = new TreeSet<>();
            int n = 0;
            for (String route : routes) {
                // A migration of its own for each route: a holder that has not let go yet cannot blur the next.
                String migration = "pin" + n++;
                try (Socket holder = holdLock(agent, token, migration)) {
                    if (held(send(agent, route, token, migration), migration)) {
                        locked.add(route);
                    }
                    assertTrue(held(send(agent, PROBE, token, migration), migration), "the lock was let go "
                            + "while " + route + " was asked");
                }
            }
            assertEquals(new TreeSet<>(LOCKED), locked, "the routes that take the migration's lock");
        }
    }

    /** Every route that changes a migration or starts a job on it: another run's lease keeps them off. */
    private static final Set<String> HEEDS_LEASE = new TreeSet<>(LOCKED);

    static {
        HEEDS_LEASE.addAll(List.of("POST /v1/migrations/{m}/copy", "POST /v1/migrations/{m}/post-data",
                "POST /v1/migrations/{m}/schema-apply"));
    }

    @Test
    void aLeaseKeepsEveryOtherRunOffTheMigrationUntilItIsGivenBackOrLapses() throws Exception {
        String token = AgentFixture.newToken();
        try (Agent agent = start(token, "")) {
            assertEquals(200, lease(agent, token, "PUT", "run-a", 3).statusCode());
            for (String route : HEEDS_LEASE) {
                assertTrue(leased(send(agent, route, token, "pin", null)), route + " without the lease");
                assertTrue(leased(send(agent, route, token, "pin", "run-b")), route + " with another run's lease");
                assertFalse(leased(send(agent, route, token, "pin", "run-a")), route + " with the holder's lease");
                assertFalse(leased(send(agent, route, token, "other", null)), route + " on another migration");
            }
            for (String route : List.of("GET /v1/migrations/{m}/lifecycle", "POST /v1/migrations/{m}/catch-up",
                    "GET /v1/migrations/{m}/status")) {
                assertFalse(leased(send(agent, route, token, "pin", null)), route + " reads, so it stays open");
            }
            HttpResponse<String> other = lease(agent, token, "PUT", "run-b", 3);
            assertTrue(leased(other) && other.body().contains("run-a"), other.body());
            assertTrue(leased(lease(agent, token, "DELETE", "run-b", 0)), "only the holder gives it back");
            assertTrue(lease(agent, token, "PUT", "run-a", 1).body().contains("\"taken\":false"), "renewed");

            Thread.sleep(1500);  // the holder went silent: its lease lapsed
            assertFalse(leased(send(agent, PROBE, token, "pin", null)), "a lapsed lease keeps nobody off");
            assertTrue(lease(agent, token, "PUT", "run-b", 30).body().contains("\"taken\":true"));
            assertTrue(lease(agent, token, "DELETE", "run-b", 0).body().contains("\"released\":true"));
            assertTrue(lease(agent, token, "DELETE", "run-b", 0).body().contains("\"released\":false"));
            assertFalse(leased(send(agent, PROBE, token, "pin", null)), "a released lease keeps nobody off");
            assertEquals(400, lease(agent, token, "PUT", "bad owner!", 5).statusCode());
            assertEquals(400, lease(agent, token, "PUT", "run-a", 601).statusCode());
        }
    }

    private static boolean leased(HttpResponse<String> r) {
        return r.statusCode() == 409 && r.body().contains("\"migration_leased\"");
    }

    private HttpResponse<String> lease(Agent agent, String token, String method, String owner, int ttl)
            throws Exception {
        String base = "http://127.0.0.1:" + agent.port() + "/v1/migrations/pin/lease";
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(method.equals("DELETE")
                        ? base + "?owner=" + java.net.URLEncoder.encode(owner, StandardCharsets.UTF_8) : base))
                .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + token)
                .method(method, method.equals("DELETE") ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString("{\"owner\": \"" + owner + "\", \"ttl_seconds\": "
                        + ttl + "}"));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void metricsOpenedByConfigurationNeedNoToken() throws Exception {
        try (Agent agent = start(AgentFixture.newToken(), "metrics_auth: none\n")) {
            Set<String> open = new TreeSet<>();
            for (String route : routes(agent)) {
                if (send(agent, route, null).statusCode() != 401) {
                    open.add(route);
                }
            }
            Set<String> expected = new TreeSet<>(PUBLIC);
            expected.add("GET /metrics");
            assertEquals(expected, open);
        }
    }

    @Test
    void aRouteThatDeclaresNoAccessKeepsTheServerFromStarting() throws Exception {
        AgentConfig config = config(AgentFixture.newToken(), "");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> AgentServer.start(config,
                List.of(routes -> routes.get("/v1/undeclared", ctx -> ctx.result("x"))), (ctx, ms) -> { }));
        assertTrue(e.getMessage().contains("GET /v1/undeclared declares 0 Access"), e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> AgentServer.start(config,
                List.of(routes -> routes.put("/v1/things", ctx -> ctx.result("x"), Access.CHANGE)), (ctx, ms) -> { }));
        assertTrue(e.getMessage().contains("PUT /v1/things takes the migration lock but has no {m}"), e.getMessage());
    }

    private Agent start(String token, String extraYaml) throws Exception {
        return Agent.start(config(token, extraYaml), System.getenv("PATH"));
    }

    private AgentConfig config(String token, String extraYaml) throws Exception {
        Path tokenFile = AgentFixture.secretFile(dir, "token", token);
        Path yaml = dir.resolve("agent.yaml");
        Files.writeString(yaml, "listen_port: " + AgentFixture.freePort() + "\ntoken_file: " + tokenFile
                + "\npostgres:\n  port: " + AgentFixture.freePort() + "\nstate_dir: " + dir.resolve("state") + "\n"
                + extraYaml);
        return ConfigLoader.load(yaml, Map.of(), List.of());
    }

    private static List<String> routes(Agent agent) {
        return agent.routes().stream().filter(r -> !r.startsWith("BEFORE ") && !r.startsWith("AFTER ")).toList();
    }

    /**
     * A PUT on the migration whose body never ends: its handler waits for the body, holding the lock, until the
     * socket closes or the agent's body watch gives up on it (30 s).
     */
    private Socket holdLock(Agent agent, String token, String migration) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            Socket s = new Socket("127.0.0.1", agent.port());
            OutputStream out = s.getOutputStream();
            out.write(("PUT " + holderPath(migration) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                    + token + "\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{ ")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Thread.sleep(100);
            // The probe takes the lock itself for a moment: a holder that came just then was refused; send it again.
            while (s.getInputStream().available() == 0) {
                if (held(send(agent, PROBE, token, migration), migration)) {
                    return s;
                }
                assertTrue(System.nanoTime() < deadline, "the holding request never took the lock");
                Thread.sleep(100);
            }
            s.close();
        }
    }

    private static String holderPath(String migration) {
        return "/v1/migrations/" + migration + "/publication";
    }

    private static boolean held(HttpResponse<String> r, String migration) {
        return r.statusCode() == 409 && r.body().contains("\"operation_in_progress\"")
                && r.body().contains("PUT " + holderPath(migration));
    }

    private HttpResponse<String> send(Agent agent, String route, String token) throws Exception {
        return send(agent, route, token, "pin");
    }

    private HttpResponse<String> send(Agent agent, String route, String token, String migration)
            throws Exception {
        return send(agent, route, token, migration, null);
    }

    private HttpResponse<String> send(Agent agent, String route, String token, String migration, String lease)
            throws Exception {
        String method = route.substring(0, route.indexOf(' '));
        String path = route.substring(route.indexOf(' ') + 1).replace("{m}", migration)
                .replaceAll("\\{[^}]+}", "x");
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + path
                + "?database=db")).timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json")
                .method(method, method.equals("GET") ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString("{}"));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        if (lease != null) {
            b.header(MigrationLeases.HEADER, lease);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
