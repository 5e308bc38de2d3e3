package io.pgferry.agent.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.config.ConfigException;
import io.pgferry.agent.config.ConfigLoader;
import io.pgferry.agent.config.Secret;
import io.pgferry.agent.json.Json;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.schemaarchive.ArchiveKey;
import io.pgferry.agent.schemaarchive.Manifest;
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

    /**
     * The archive key of every agent this test run starts: source and target must hold the same one, as the agent
     * role gives them.
     */
    public static final String ARCHIVE_KEY = newToken();

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

    /**
     * The JVM flags every agent process of the tests starts with: the production ones, as an argument file
     * ({@code java @agent/jvm.options}, which the agent role installs beside the jar and its unit names).
     */
    public static String jvmOptions() {
        Path file = Path.of(System.getProperty("pgferry.jvm.options", "jvm.options")).toAbsolutePath();
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException("no JVM options file at " + file + " (agent/jvm.options)");
        }
        return "@" + file;
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * A manifest as a source agent holding {@link #ARCHIVE_KEY} would sign it: for tests that present the target
     * with a manifest the source never made (another migration, an extension the target lacks).
     */
    public static byte[] signManifest(String migration, JsonNode manifest) throws IOException {
        ObjectNode unsigned = manifest.deepCopy();
        unsigned.remove("signature");
        Manifest parsed = Json.MAPPER.treeToValue(unsigned, Manifest.class);
        return ArchiveKey.of(Secret.of(ARCHIVE_KEY)).sign(new MigrationId(migration),
                Json.MAPPER.writeValueAsBytes(parsed));
    }

    /** A config for the cluster, loaded through the real loader from a real YAML file. */
    public static AgentConfig configFor(PgCluster cluster, Path dir, Path tokenFile, int port)
            throws IOException, ConfigException {
        return configFor(cluster, dir, tokenFile, port, cluster.superuser(), cluster.superuserPasswordFile(), "");
    }

    /** @param extraYaml more top-level settings, e.g. "metrics_auth: none\n" */
    public static AgentConfig configFor(PgCluster cluster, Path dir, Path tokenFile, int port, String extraYaml)
            throws IOException, ConfigException {
        return configFor(cluster, dir, tokenFile, port, cluster.superuser(), cluster.superuserPasswordFile(),
                extraYaml);
    }

    /** The same, with the agent logging in as another role (a managed service's admin, no superuser). */
    public static AgentConfig configFor(PgCluster cluster, Path dir, Path tokenFile, int port, String user,
                                        Path passwordFile) throws IOException, ConfigException {
        return configFor(cluster, dir, tokenFile, port, user, passwordFile, "");
    }

    private static AgentConfig configFor(PgCluster cluster, Path dir, Path tokenFile, int port, String user,
                                         Path passwordFile, String extraYaml) throws IOException, ConfigException {
        Path archiveKey = secretFile(dir, "archive.key", ARCHIVE_KEY);
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
                archive_key_file: %s
                """.formatted(port, tokenFile, cluster.host(), cluster.port(), user, passwordFile, cluster.binDir(),
                dir.resolve("state"), archiveKey) + extraYaml);
        return ConfigLoader.load(yaml, Map.of(), List.of());
    }
}
