package io.pgferry.agent.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The container test bed: PostgreSQL servers in the images tools/images builds on this machine (no registry), started
 * with Testcontainers on one Docker network per test JVM, so each server reaches the others by name, as separate
 * hosts do. The agents stay in the test JVM and reach their server through its mapped port: an agent on an adjacent
 * host, the shape of a managed service.
 *
 * <p>{@code -Dpgferry.testbed=containers} (what tools/test passes when the engine runs) makes {@link #server} use
 * containers, {@code loopback} pgbed clusters; unset, containers are used when the engine answers and the images
 * are built. The choice is printed once.
 */
public final class ContainerBed {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String RUN_LABEL = "io.pgferry.run";
    private static final String PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    private static Boolean enabled;
    private static Network network;

    private ContainerBed() {
    }

    /** A server of the given major: a container when the container test bed is on, else a pgbed cluster. */
    public static PgCluster server(String name, int major) {
        return enabled() ? container(name, major) : PgCluster.create(name, major);
    }

    public static synchronized boolean enabled() {
        if (enabled == null) {
            String wanted = System.getProperty("pgferry.testbed", "auto").toLowerCase(Locale.ROOT);
            String why;
            switch (wanted) {
                case "loopback" -> {
                    enabled = false;
                    why = "-Dpgferry.testbed=loopback";
                }
                case "containers" -> {
                    if (!Files.exists(imagesFile())) {
                        throw new IllegalStateException("-Dpgferry.testbed=containers but " + imagesFile()
                                + " is missing: build the images with tools/images build");
                    }
                    enabled = true;
                    why = "-Dpgferry.testbed=containers";
                }
                default -> {
                    boolean images = Files.exists(imagesFile());
                    enabled = images && DockerClientFactory.instance().isDockerAvailable();
                    why = images ? "auto: Docker engine " + (enabled ? "answers" : "does not answer")
                            : "auto: no " + imagesFile() + " (tools/images build)";
                }
            }
            System.out.println("pgferry test bed: " + (enabled ? "containers" : "loopback (pgbed)") + " [" + why + "]");
        }
        return enabled;
    }

    static Path imagesFile() {
        String cache = System.getenv("PGFERRY_CACHE");
        return (cache != null ? Path.of(cache) : PgBedTool.repoRoot().resolve(".cache")).resolve("images.json");
    }

    /** The tag tools/images built for key (postgres14 .. postgres18, pgbouncer, host). */
    public static String image(String key) {
        try {
            JsonNode tags = JSON.readTree(imagesFile().toFile());
            if (!tags.hasNonNull(key)) {
                throw new IllegalStateException("no image " + key + " in " + imagesFile() + ": rerun tools/images build");
            }
            return tags.get(key).asText();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + imagesFile() + ": build the images with tools/images build",
                    e);
        }
    }

    /** One network per JVM: every server of the run reaches every other by its alias on port 5432. */
    public static synchronized Network network() {
        if (network == null) {
            network = Network.builder()
                    .createNetworkCmdModifier(cmd -> cmd.withLabels(java.util.Map.of(RUN_LABEL, runId()))).build();
            Network made = network;
            // Without Ryuk nothing else removes it: the servers on it are destroyed by their tests before the JVM ends.
            Runtime.getRuntime().addShutdownHook(new Thread(made::close, "pgferry-network-close"));
        }
        return network;
    }

    /** Every container and network of a run carries it, so tools/test removes what a crashed JVM left behind. */
    static String runId() {
        return System.getenv().getOrDefault("PGFERRY_RUN_ID", "adhoc");
    }

    /**
     * A PostgreSQL container: alias = name on {@link #network()}, superuser postgres with a fresh password (also in a
     * 0600 file, for the agent), the PostgreSQL build of the same major on this machine for pg_dump and psql.
     */
    public static PgCluster container(String name, int major) {
        String password = password();
        GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(image("postgres" + major)))
                // Built here (tools/images), never pulled: there is no registry to pull from.
                .withImagePullPolicy(imageName -> false)
                .withNetwork(network())
                .withNetworkAliases(name)
                .withEnv("PGFERRY_PG_PASSWORD", password)
                .withExposedPorts(5432)
                .withLabel(RUN_LABEL, runId())
                .withCreateContainerCmdModifier(cmd -> cmd.withName(name))
                // PostgreSQL logs this once, after initdb: the server takes connections from then on.
                .waitingFor(Wait.forLogMessage(".*database system is ready to accept connections.*", 1)
                        .withStartupTimeout(Duration.ofMinutes(2)));
        c.start();
        try {
            Path dir = Files.createTempDirectory("pgferry-container-" + name);
            Path pwfile = AgentFixture.secretFile(dir, "superuser.password", password);
            ObjectNode info = JSON.createObjectNode()
                    .put("name", name).put("major", major).put("host", c.getHost())
                    .put("port", c.getMappedPort(5432)).put("bin_dir", PgBedTool.binDir(major).toString())
                    .put("socket_dir", "").put("superuser", "postgres").put("superuser_password", password)
                    .put("superuser_password_file", pwfile.toString())
                    .put("peer_host", name).put("peer_port", 5432).put("container_id", c.getContainerId());
            PgCluster cluster = new PgCluster(name, info, c, dir);
            awaitConnectable(cluster);
            return cluster;
        } catch (Exception e) {
            c.stop();
            throw new IllegalStateException("PostgreSQL " + major + " container " + name + " did not come up", e);
        }
    }

    /** The port opens before initdb's cluster takes connections as the superuser with its password. */
    private static void awaitConnectable(PgCluster cluster) throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        while (true) {
            try (java.sql.Connection conn = cluster.connect("postgres")) {
                return;
            } catch (java.sql.SQLException e) {
                if (Instant.now().isAfter(deadline)) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    private static String password() {
        java.security.SecureRandom r = new java.security.SecureRandom();
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 24; i++) {
            b.append(PASSWORD_ALPHABET.charAt(r.nextInt(PASSWORD_ALPHABET.length())));
        }
        return b.toString();
    }
}
