package io.pgferry.agent.safety;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgferry.agent.testbed.AgentFixture;
import io.pgferry.agent.testbed.AgentProcess;
import io.pgferry.agent.testbed.PgBed;
import io.pgferry.agent.testbed.PgCluster;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's files under {@code state_dir}, made by a real agent process started with {@code umask 000}: every
 * directory 0700 and every file 0600 all the same (the schema dump included, which pg_dump itself creates), and
 * symlinks planted where the agent used to write under fixed temporary names point at a file that stays untouched.
 */
@PgBed(major = 16)
class StateFilesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static PgCluster cluster;

    @Test
    void filesAre0600AndDirectories0700UnderUmask000AndPlantedSymlinksAreNotFollowed(@TempDir Path dir)
            throws Exception {
        BadInputTest.sql(cluster, "postgres", "DROP DATABASE IF EXISTS shop");
        BadInputTest.sql(cluster, "postgres", "CREATE DATABASE shop");
        BadInputTest.sql(cluster, "shop", "CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY, v text)");
        Path state = dir.resolve("agent/state");
        Path victim = dir.resolve("victim.txt");
        Files.writeString(victim, "untouched\n");
        // An open directory planted where the migration's will be, with symlinks at the names the agent wrote
        // through before (fence-<hash>.json.tmp, schema.fingerprint.json.tmp).
        Path m = state.resolve("m");
        Files.createDirectories(m);
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setPosixFilePermissions(m, PosixFilePermissions.fromString("rwxrwxrwx"));
        List<Path> planted = List.of(m.resolve(fenceFile("shop") + ".tmp"), m.resolve("schema.fingerprint.json.tmp"));
        for (Path p : planted) {
            Files.createSymbolicLink(p, victim);
        }

        try (AgentProcess agent = AgentProcess.start(cluster, dir.resolve("agent"), "000")) {
            ok(agent.json("POST", "/v1/migrations/m/schema-archive", "{\"database\": \"shop\"}"));
            ok(agent.json("PUT", "/v1/migrations/m/fence", "{\"database\": \"shop\", \"terminate\": false}"));
            // The target's side: an upload of that archive and its manifest under another migration.
            byte[] archive = ok(agent.send("GET", "/v1/migrations/m/schema-archive", null, null));
            String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(archive));
            HttpResponse<byte[]> put = agent.send("PUT", "/v1/migrations/up/schema-archive", archive,
                    "application/octet-stream", "X-Pgferry-Sha256", sha);
            assertEquals(200, put.statusCode(), new String(put.body(), StandardCharsets.UTF_8));
            ObjectNode manifest = (ObjectNode) JSON.readTree(ok(agent.send("GET",
                    "/v1/migrations/m/schema-archive/manifest", null, null)));
            manifest.put("migration", "up");
            ok(agent.send("PUT", "/v1/migrations/up/schema-archive/manifest",
                    AgentFixture.signManifest("up", manifest), "application/json"));
            assertEquals(sha, JSON.readTree(ok(agent.send("GET", "/v1/migrations/up/schema-archive/manifest", null,
                    null))).get("archive_sha256").asText());
            ok(agent.send("DELETE", "/v1/migrations/m/fence?database=shop", null, null));
            ok(agent.json("PUT", "/v1/migrations/m/fence", "{\"database\": \"shop\", \"terminate\": false}"));
            ok(agent.send("DELETE", "/v1/migrations/m/fence?database=shop", null, null));
        }

        assertEquals("untouched\n", Files.readString(victim), "nothing was written through a planted symlink");
        List<String> wrong = new ArrayList<>();
        List<String> seen = new ArrayList<>();
        try (Stream<Path> all = Files.walk(state)) {
            for (Path p : all.toList()) {
                if (planted.contains(p)) {
                    assertTrue(Files.isSymbolicLink(p), "the planted link is left alone: " + p);
                    continue;
                }
                String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
                String want = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "rwx------" : "rw-------";
                seen.add(state.relativize(p) + " " + mode);
                if (!mode.equals(want) || Files.isSymbolicLink(p)) {
                    wrong.add(state.relativize(p) + " " + mode);
                }
            }
        }
        assertTrue(wrong.isEmpty(), "files or directories open to others under umask 000: " + wrong);
        for (String expected : List.of("m/schema.dump ", "m/schema.manifest.json ", "m/schema.fingerprint.json ",
                "up/schema.dump ", "up/schema.manifest.json ", "pgpass ")) {
            assertTrue(seen.stream().anyMatch(s -> s.startsWith(expected)), expected + " was made: " + seen);
        }
        assertFalse(seen.stream().anyMatch(s -> s.contains(".tmp")), "no temporary file is left: " + seen);
    }

    /** FenceFiles' name for a database: fence-<first 8 bytes of its name's sha256>.json. */
    private static String fenceFile(String database) throws Exception {
        byte[] h = MessageDigest.getInstance("SHA-256").digest(database.getBytes(StandardCharsets.UTF_8));
        return "fence-" + HexFormat.of().formatHex(h, 0, 8) + ".json";
    }

    private static byte[] ok(HttpResponse<byte[]> r) {
        assertEquals(200, r.statusCode(), () -> new String(r.body(), StandardCharsets.UTF_8));
        return r.body();
    }

    static JsonNode json(byte[] body) throws Exception {
        return JSON.readTree(body);
    }
}
