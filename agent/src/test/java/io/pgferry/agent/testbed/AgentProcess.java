package io.pgferry.agent.testbed;

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

/**
 * The agent as its own process, started the way the systemd unit and tools/stack start it (serve --config, the
 * production JVM flags from agent/jvm.options), on this build's classes: for what an in-process agent cannot show,
 * such as the modes of the files it makes under a given umask, its resident memory, or how it survives an upload
 * meant to exhaust its heap.
 */
public final class AgentProcess implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final Process process;
    private final URI base;
    private final String token;
    private final Path log;

    private AgentProcess(Process process, URI base, String token, Path log) {
        this.process = process;
        this.base = base;
        this.token = token;
        this.log = log;
    }

    /**
     * With the production JVM flags (agent/jvm.options).
     *
     * @param umask e.g. "000": the mode the agent's files get must not depend on it
     */
    public static AgentProcess start(PgCluster cluster, Path dir, String umask) throws Exception {
        return start(cluster, dir, umask, null);
    }

    /**
     * @param umask e.g. "000": the mode the agent's files get must not depend on it
     * @param heap e.g. "64m": a smaller heap cap than the production flags' (which come first; a later -Xmx wins),
     *             or null for theirs
     */
    public static AgentProcess start(PgCluster cluster, Path dir, String umask, String heap) throws Exception {
        Files.createDirectories(dir);
        String token = AgentFixture.newToken();
        Path tokenFile = AgentFixture.secretFile(dir, "token", token);
        int port = AgentFixture.freePort();
        AgentFixture.configFor(cluster, dir, tokenFile, port); // writes dir/agent.yaml (and checks it loads)
        List<String> java = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                AgentFixture.jvmOptions()));
        if (heap != null) {
            java.add("-Xmx" + heap);
        }
        java.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.pgferry.agent.cli.Main", "serve",
                "--config", dir.resolve("agent.yaml").toString()));
        StringBuilder cmd = new StringBuilder("umask " + umask + " && exec");
        for (String arg : java) {
            cmd.append(" '").append(arg.replace("'", "'\\''")).append('\'');
        }
        Path log = dir.resolve("agent.log");
        Process p = new ProcessBuilder("sh", "-c", cmd.toString()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        AgentProcess agent = new AgentProcess(p, URI.create("http://127.0.0.1:" + port), token, log);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("the agent exited with " + p.exitValue() + ": " + agent.log());
            }
            if (agent.healthy()) {
                return agent;
            }
            Thread.sleep(200);
        }
        agent.close();
        throw new IllegalStateException("the agent did not answer /v1/health within 60 s: " + agent.log());
    }

    public boolean healthy() {
        try {
            return HTTP.send(HttpRequest.newBuilder(base.resolve("/v1/health")).timeout(Duration.ofSeconds(5))
                    .build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** Resident memory in KiB, from /proc. */
    public long rssKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        throw new IOException("no VmRSS for pid " + process.pid());
    }

    /** A request with the token; {@code body} null for none, else JSON (or bytes as given). */
    public HttpResponse<byte[]> send(String method, String path, byte[] body, String contentType,
                                     String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(120))
                .header("Authorization", "Bearer " + token)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        if (body != null) {
            b.header("Content-Type", contentType);
        }
        if (headers.length > 0) {
            b.headers(headers);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    public HttpResponse<byte[]> json(String method, String path, String json) throws IOException,
            InterruptedException {
        return send(method, path, json == null ? null : json.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                "application/json");
    }

    /**
     * Live heap in KiB: a full GC first (jcmd GC.run), then the used space of every generation (GC.heap_info). Unlike
     * RSS, which keeps whatever the heap once grew to, this shows whether memory is held.
     */
    public long heapUsedAfterGcKib() throws IOException, InterruptedException {
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        String pid = Long.toString(process.pid());
        run(jcmd, pid, "GC.run");
        long used = 0;
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^\\s*(def new generation|tenured generation)"
                + "\\s+total \\d+K, used (\\d+)K").matcher(run(jcmd, pid, "GC.heap_info"));
        while (m.find()) {
            used += Long.parseLong(m.group(2));
        }
        return used;
    }

    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    public URI base() {
        return base;
    }

    public String token() {
        return token;
    }

    public String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
