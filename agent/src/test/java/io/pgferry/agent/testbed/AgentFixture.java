package io.pgferry.agent.testbed;

import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.config.ConfigException;
import io.pgferry.agent.config.ConfigLoader;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/** Test helpers that build real configs and files the way an operator would. */
public final class AgentFixture {
    private AgentFixture() {
    }

    public static String newToken() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Writes a secret file with mode 0600, as the agent requires. */
    public static Path secretFile(Path dir, String name, String content) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, content + "\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        return f;
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A config for the cluster, loaded through the real loader from a real YAML file. */
    public static AgentConfig configFor(PgCluster cluster, Path dir, Path tokenFile, int port)
            throws IOException, ConfigException {
        return configFor(cluster, dir, tokenFile, port, "");
    }

    /** @param extraYaml more top-level settings, e.g. "metrics_auth: none\n" */
    public static AgentConfig configFor(PgCluster cluster, Path dir, Path tokenFile, int port, String extraYaml)
            throws IOException, ConfigException {
        Path yaml = dir.resolve("agent.yaml");
        Files.writeString(yaml, """
                listen_address: 127.0.0.1
                listen_port: %d
                token_file: %s
                postgres:
                  host: %s
                  port: %d
                  user: %s
                  password_file: %s
                pg_bin_dir: %s
                state_dir: %s
                """.formatted(port, tokenFile, cluster.host(), cluster.port(), cluster.superuser(),
                cluster.superuserPasswordFile(), cluster.binDir(), dir.resolve("state")) + extraYaml);
        return ConfigLoader.load(yaml, Map.of(), List.of());
    }
}
