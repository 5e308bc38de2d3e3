package io.pgferry.agent.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgferry.agent.Agent;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A real agent, in-process, beside a real cluster, and a small HTTP client for it. */
public final class AgentHandle implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final Agent agent;
    private final String token;
    private final URI base;
    /** Every body the agent sent, so a test can check that no secret ever appears in one. */
    private final List<String> bodies = new ArrayList<>();

    private AgentHandle(Agent agent, String token) {
        this.agent = agent;
        this.token = token;
        this.base = URI.create("http://127.0.0.1:" + agent.port());
    }

    public static AgentHandle start(PgCluster cluster, Path dir) throws Exception {
        Files.createDirectories(dir);
        String token = AgentFixture.newToken();
        Path tokenFile = AgentFixture.secretFile(dir, "token", token);
        return new AgentHandle(Agent.start(AgentFixture.configFor(cluster, dir, tokenFile, AgentFixture.freePort()),
                System.getenv("PATH")), token);
    }

    /** An answer: status and parsed body (null for an empty or non-JSON body). */
    public record Answer(int status, JsonNode body, byte[] raw, HttpResponse<byte[]> response) {
        public JsonNode at(String pointer) {
            return body.at(pointer);
        }
    }

    public Answer get(String path) throws IOException, InterruptedException {
        return send(request(path).GET());
    }

    public Answer delete(String path) throws IOException, InterruptedException {
        return send(request(path).DELETE());
    }

    public Answer put(String path, Object body) throws IOException, InterruptedException {
        return send(request(path).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))));
    }

    public Answer post(String path, Object body) throws IOException, InterruptedException {
        return send(request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))));
    }

    public Answer putBytes(String path, byte[] body, String sha256) throws IOException, InterruptedException {
        return send(request(path).header("Content-Type", "application/octet-stream")
                .header("X-Pgferry-Sha256", sha256).PUT(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    /** JSON bytes sent as they are (a signed manifest must arrive byte for byte). */
    public Answer putJsonBytes(String path, byte[] body) throws IOException, InterruptedException {
        return send(request(path).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    /** Any method with a body sent as is (malformed JSON, oversized bodies, PATCH, ...). */
    public Answer send(String method, String path, byte[] body) throws IOException, InterruptedException {
        return send(request(path).header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(120))
                .header("Authorization", "Bearer " + token);
    }

    private Answer send(HttpRequest.Builder builder) throws IOException, InterruptedException {
        HttpResponse<byte[]> r = HTTP.send(builder.build(), HttpResponse.BodyHandlers.ofByteArray());
        String text = new String(r.body(), java.nio.charset.StandardCharsets.UTF_8);
        JsonNode json = null;
        if (r.headers().firstValue("Content-Type").orElse("").contains("json")) {
            bodies.add(text);
            json = JSON.readTree(text);
        }
        return new Answer(r.statusCode(), json, r.body(), r);
    }

    public String token() {
        return token;
    }

    /** http://127.0.0.1:port of this agent, for requests with other headers than this client sends. */
    public URI base() {
        return base;
    }

    /** Every route the agent registered, as "METHOD path". */
    public List<String> routes() {
        return agent.routes();
    }

    public List<String> bodies() {
        return List.copyOf(bodies);
    }

    @Override
    public void close() {
        agent.close();
    }
}
