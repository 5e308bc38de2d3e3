package io.pgferry.agent.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.testcontainers.containers.GenericContainer;

/**
 * A running throwaway PostgreSQL server with its details: a cluster made by tools/pgbed on loopback, or a container
 * of the container test bed ({@link ContainerBed}), reached through its mapped port.
 */
public final class PgCluster {
    private final String name;
    private final JsonNode info;
    private final GenericContainer<?> container;
    private final Path containerDir;

    PgCluster(String name, JsonNode info) {
        this(name, info, null, null);
    }

    PgCluster(String name, JsonNode info, GenericContainer<?> container, Path containerDir) {
        this.name = name;
        this.info = info;
        this.container = container;
        this.containerDir = containerDir;
    }

    /** A new cluster that the caller destroys (test classes with {@link PgBed} get theirs made for them). */
    public static PgCluster create(String name, int major) {
        return new PgCluster(name, PgBedTool.json("start", "--name", name, "--major", String.valueOf(major)));
    }

    /** A new streaming standby of {@code primary} (in recovery, read-only), which the caller destroys. */
    public static PgCluster standby(String name, PgCluster primary) {
        return new PgCluster(name, PgBedTool.json("start", "--name", name, "--standby-of", primary.name()));
    }

    public String name() {
        return name;
    }

    public int major() {
        return info.get("major").asInt();
    }

    public String host() {
        return info.get("host").asText();
    }

    public int port() {
        return info.get("port").asInt();
    }

    /** The host another server (a subscription) connects to: 127.0.0.1, or the container's name on the network. */
    public String peerHost() {
        return info.has("peer_host") ? info.get("peer_host").asText() : host();
    }

    public int peerPort() {
        return info.has("peer_port") ? info.get("peer_port").asInt() : port();
    }

    /** The container this server runs in, or null for a pgbed cluster. */
    public GenericContainer<?> container() {
        return container;
    }

    public Path binDir() {
        return Path.of(info.get("bin_dir").asText());
    }

    public Path socketDir() {
        return Path.of(info.get("socket_dir").asText());
    }

    /** The server log (pgbed's pg_ctl -l file). */
    public Path logFile() {
        return Path.of(info.get("log_file").asText());
    }

    public String superuser() {
        return info.get("superuser").asText();
    }

    public Path superuserPasswordFile() {
        return Path.of(info.get("superuser_password_file").asText());
    }

    /** For asserting that it never shows up where it must not. */
    public String superuserPassword() {
        return info.get("superuser_password").asText();
    }

    /** Stops the server (fast shutdown) and waits until it is down. */
    public void stop() {
        requireCluster("stop");
        PgBedTool.json("stop", "--name", name);
    }

    /** Starts the server again and waits until it accepts connections. */
    public void start() {
        requireCluster("start");
        PgBedTool.json("start", "--name", name);
    }

    public void destroy() {
        if (container != null) {
            container.stop();
            try (var files = java.nio.file.Files.walk(containerDir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (java.io.IOException ignored) {
                // a temporary directory; the OS cleans it
            }
            return;
        }
        PgBedTool.json("destroy", "--name", name);
    }

    private void requireCluster(String what) {
        if (container != null) {
            throw new UnsupportedOperationException(what + " is for pgbed clusters (a restarted container gets another"
                    + " mapped port): make this server with PgCluster.create");
        }
    }

    /** A JDBC connection as the superuser, password from its file as an operator would keep it. */
    public java.sql.Connection connect(String database) throws java.sql.SQLException, java.io.IOException {
        java.util.Properties p = new java.util.Properties();
        p.setProperty("user", superuser());
        p.setProperty("password", java.nio.file.Files.readString(superuserPasswordFile()).strip());
        return java.sql.DriverManager.getConnection("jdbc:postgresql://" + host() + ":" + port() + "/" + database, p);
    }

    @Override
    public String toString() {
        return "PgCluster[" + name + ", PostgreSQL " + major() + " on " + host() + ":" + port()
                + (container != null ? ", container " + peerHost() : "") + "]";
    }
}
