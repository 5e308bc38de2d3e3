package io.pgferry.agent.openapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgferry.agent.Agent;
import io.pgferry.agent.config.ConfigLoader;
import io.pgferry.agent.testbed.AgentFixture;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OpenAPI document and the agent's registered routes name the same operations, both ways: a new route
 * without a document entry fails here, and so does an entry for a route that does not exist. Routes are read
 * from a real agent (no PostgreSQL needed: it starts without one).
 */
class OpenApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void documentAndRoutesMatchAndTheAgentServesTheDocument() throws Exception {
        String token = AgentFixture.newToken();
        Path tokenFile = AgentFixture.secretFile(dir, "token", token);
        Path yaml = dir.resolve("agent.yaml");
        // A port nothing listens on: the agent starts anyway and serves every route.
        Files.writeString(yaml, "listen_port: " + AgentFixture.freePort() + "\ntoken_file: " + tokenFile
                + "\npostgres:\n  port: " + AgentFixture.freePort() + "\nstate_dir: " + dir.resolve("state") + "\n");
        try (Agent agent = Agent.start(ConfigLoader.load(yaml, Map.of(), List.of()), System.getenv("PATH"))) {
            // Javalin lists its before/after filters among the routes; they are not operations.
            Set<String> routes = new TreeSet<>(agent.routes().stream()
                    .filter(r -> !r.startsWith("BEFORE ") && !r.startsWith("AFTER ")).toList());
            JsonNode doc;
            try (var in = OpenApiController.class.getResourceAsStream(OpenApiController.RESOURCE)) {
                doc = JSON.readTree(in);
            }
            assertEquals("3.1.0", doc.get("openapi").asText());
            Set<String> documented = new TreeSet<>();
            for (Iterator<Map.Entry<String, JsonNode>> p = doc.get("paths").fields(); p.hasNext(); ) {
                Map.Entry<String, JsonNode> path = p.next();
                path.getValue().fieldNames().forEachRemaining(m -> documented.add(m.toUpperCase(Locale.ROOT) + " "
                        + path.getKey()));
                path.getValue().forEach(op -> assertTrue(op.path("responses").size() > 0, path.getKey()));
            }
            Set<String> undocumented = new TreeSet<>(routes);
            undocumented.removeAll(documented);
            Set<String> unknown = new TreeSet<>(documented);
            unknown.removeAll(routes);
            assertTrue(undocumented.isEmpty(), "routes missing from agent/src/main/resources/openapi.json: "
                    + undocumented);
            assertTrue(unknown.isEmpty(), "openapi.json names routes the agent does not serve: " + unknown);
            assertTrue(routes.contains("POST /v1/migrations/{m}/verify/snapshot"), routes.toString());

            HttpClient http = HttpClient.newHttpClient();
            URI uri = URI.create("http://127.0.0.1:" + agent.port() + "/v1/openapi.json");
            assertEquals(401, http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode());
            HttpResponse<String> served = http.send(HttpRequest.newBuilder(uri).header("Authorization", "Bearer "
                    + token).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, served.statusCode());
            assertEquals(doc, JSON.readTree(served.body()));
        }
    }
}
