package io.pgferry.agent.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the repository's tools/pgbed, which makes real PostgreSQL clusters; every command prints JSON. */
public final class PgBedTool {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path SCRIPT = repoRoot().resolve("tools/pgbed");

    private PgBedTool() {
    }

    /** The repository root: the nearest directory upwards from the working directory holding tools/pgbed. */
    public static Path repoRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("tools/pgbed"))) {
                return dir;
            }
        }
        throw new IllegalStateException("no tools/pgbed above " + Path.of("").toAbsolutePath()
                + ": run the tests inside the pgferry repository");
    }

    public static JsonNode json(String... args) {
        return parse(run(args), args);
    }

    /** The bin directory of a PostgreSQL build (installed into the repo's cache on first use). */
    public static Path binDir(int major) {
        return Path.of(run("bindir", String.valueOf(major)).trim());
    }

    static String run(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(SCRIPT.toString());
        cmd.addAll(List.of(args));
        try {
            Path stderr = Files.createTempFile("pgbed", ".err");
            try {
                Process p = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
                p.getOutputStream().close();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    throw new IllegalStateException(String.join(" ", cmd) + " failed: " + Files.readString(stderr));
                }
                return out;
            } finally {
                Files.deleteIfExists(stderr);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + SCRIPT, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + String.join(" ", cmd), e);
        }
    }

    private static JsonNode parse(String out, String... args) {
        try {
            return JSON.readTree(out);
        } catch (IOException e) {
            throw new IllegalStateException("pgbed " + String.join(" ", args) + " printed no JSON", e);
        }
    }
}
