package io.pgferry.agent.copy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgferry.agent.testbed.AgentFixture;
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
import java.time.Duration;
import java.util.List;

/**
 * The agent as its own JVM on this build's classes, with the flags tools/stack and the agent role use, so a test
 * can SIGKILL it in the middle of a job and start it again on the same port and state directory.
 */
final class KillableAgent implements AgentApi, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final Path dir;
    private final URI base;
    private final String token;
    private Process process;

    private KillableAgent(Path dir, int port, String token) {
        this.dir = dir;
        this.base = URI.create("http://127.0.0.1:" + port);
        this.token = token;
    }

    static KillableAgent start(PgCluster cluster, Path dir) throws Exception {
        Files.createDirectories(dir);
        String token = AgentFixture.newToken();
        Path tokenFile = AgentFixture.secretFile(dir, "token", token);
        int port = AgentFixture.freePort();
        AgentFixture.configFor(cluster, dir, tokenFile, port);
        KillableAgent agent = new KillableAgent(dir, port, token);
        agent.restart();
        return agent;
    }

    /** Starts the JVM (again) and waits for /v1/health. */
    void restart() throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                AgentFixture.jvmOptions(), "-cp", System.getProperty("java.class.path"),
                "io.pgferry.agent.cli.Main", "serve", "--config", dir.resolve("agent.yaml").toString());
        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("agent.log").toFile())).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the agent exited: " + log());
            }
            try {
                if (HTTP.send(HttpRequest.newBuilder(base.resolve("/v1/health")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the agent did not start within 180 s: " + log());
    }

    /** SIGKILL: no shutdown hook, no cleanup, the way a crash or the OOM killer ends it. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    String log() throws IOException {
        return Files.readString(dir.resolve("agent.log"));
    }

    @Override
    public Answer get(String path) throws Exception {
        return send(request(path).GET());
    }

    @Override
    public Answer post(String path, Object body) throws Exception {
        return send(request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))));
    }

    @Override
    public Answer put(String path, Object body) throws Exception {
        return send(request(path).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))));
    }

    @Override
    public Answer putBytes(String path, byte[] body, String sha256) throws Exception {
        return send(request(path).header("Content-Type", "application/octet-stream")
                .header("X-Pgferry-Sha256", sha256).PUT(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(120))
                .header("Authorization", "Bearer " + token);
    }

    private Answer send(HttpRequest.Builder builder) throws Exception {
        HttpResponse<byte[]> r = HTTP.send(builder.build(), HttpResponse.BodyHandlers.ofByteArray());
        JsonNode json = r.headers().firstValue("Content-Type").orElse("").contains("json")
                ? JSON.readTree(new String(r.body(), StandardCharsets.UTF_8)) : null;
        return new Answer(r.statusCode(), json, r.body(), r);
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                kill();
            }
        }
    }
}
