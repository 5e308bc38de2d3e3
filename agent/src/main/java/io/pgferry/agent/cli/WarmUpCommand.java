package io.pgferry.agent.cli;

import io.pgferry.agent.Agent;
import io.pgferry.agent.LogSetup;
import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.config.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * warm-up: the agent's training run for a class-data archive. The JVM records the classes a run loads
 * ({@code -XX:ArchiveClassesAtExit}) and later starts map them ready-made instead of loading them from the jar; so
 * this run loads what {@code serve} loads and what its first answers load: the configuration, logging, the HTTP
 * server, a PostgreSQL login when the server is up, JSON both ways and the problem answers. It changes nothing: a
 * loopback listener on a free port in plain HTTP, a temporary state directory, and read-only requests.
 */
@Command(name = "warm-up", mixinStandardHelpOptions = true,
        description = "Start the HTTP API on a free loopback port (plain HTTP, a temporary state directory), call it "
                + "as a client would, and stop: the training run for the JVM's class-data archive (docs/agent.md, "
                + "\"Footprint\"). Reads PostgreSQL only.")
final class WarmUpCommand implements Callable<Integer> {
    private static final String MIGRATION = "/v1/migrations/warm_up";

    private final Map<String, String> env;

    @Mixin
    ConfigOptions options;

    @Spec
    CommandSpec spec;

    WarmUpCommand(Map<String, String> env) {
        this.env = env;
    }

    @Override
    public Integer call() throws Exception {
        AgentConfig loaded;
        try {
            loaded = options.load(env);
        } catch (ConfigException e) {
            return ConfigErrors.report(e, spec.commandLine().getErr());
        }
        Path state = Files.createTempDirectory("pgferry-warm-up");
        AgentConfig config = new AgentConfig("127.0.0.1", 0, loaded.tokenFile(), loaded.token(), loaded.postgres(),
                loaded.pgBinDir(), state, loaded.logFormat(), Optional.empty(), loaded.archiveKeyFile(),
                loaded.archiveKey(), false, loaded.copy(), loaded.logLevel(), loaded.metricsAuth());
        LogSetup.apply(config.logFormat(), config.logLevel());
        List<String> answers = new ArrayList<>();
        try (Agent agent = Agent.start(config, env.get("PATH"))) {
            String token = config.token().reveal();
            answers.add(call(agent.port(), "GET", "/v1/health", null, null));
            answers.add(call(agent.port(), "GET", "/v1/health/live", null, null));
            answers.add(call(agent.port(), "GET", "/v1/info", token, null));
            answers.add(call(agent.port(), "GET", "/metrics", token, null));
            answers.add(call(agent.port(), "GET", "/v1/info", null, null));
            answers.add(call(agent.port(), "POST", MIGRATION + "/preflight", token,
                    "{\"side\": \"source\", \"database\": \"" + config.postgres().database() + "\"}"));
            answers.add(call(agent.port(), "PUT", MIGRATION + "/publication", token, "{\"database\": [}"));
        } finally {
            try (Stream<Path> files = Files.walk(state)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("warm-up answers: " + String.join(" ", answers));
        out.flush();
        return ExitCode.OK.code();
    }

    /** One HTTP/1.1 exchange; returns the status code. */
    private static String call(int port, String method, String path, String token, String json) throws IOException {
        byte[] body = json == null ? new byte[0] : json.getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\n")
                .append("Host: 127.0.0.1:").append(port).append("\r\nConnection: close\r\n");
        if (token != null) {
            head.append("Authorization: Bearer ").append(token).append("\r\n");
        }
        if (json != null) {
            head.append("Content-Type: application/json\r\nContent-Length: ").append(body.length).append("\r\n");
        }
        head.append("\r\n");
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(60_000);
            OutputStream o = s.getOutputStream();
            o.write(head.toString().getBytes(StandardCharsets.US_ASCII));
            o.write(body);
            o.flush();
            InputStream in = s.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
            int sp = answer.indexOf(' ');
            return sp < 0 ? "none" : answer.substring(sp + 1, Math.min(answer.length(), sp + 4));
        }
    }
}
