package io.pgferry.agent.safety;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgferry.agent.config.Secret;
import io.pgferry.agent.json.Json;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.schemaarchive.ArchiveKey;
import io.pgferry.agent.schemaarchive.Manifest;
import io.pgferry.agent.testbed.AgentFixture;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.PgBed;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The target agent restores only what the source agent made for this migration. A real source agent dumps a real
 * schema whose table has a COMMENT; the test rewrites that COMMENT in the archive into {@code COPY ... TO PROGRAM}
 * (same length, so pg_restore reads it as a valid archive) and offers the target every combination an attacker with
 * the target's token could: the edited archive with the manifest's hash edited, with the original manifest, with no
 * signature, with another key's signature, with another migration's manifest. Each is refused with a code naming
 * the problem, nothing is restored, and the program never runs.
 */
@PgBed(major = 16)
class ArchiveAuthenticityTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String M = "/v1/migrations/auth";

    static PgCluster cluster;
    static Path dir;
    static AgentHandle source;
    static AgentHandle target;
    static Path marker;
    static byte[] archive;
    static byte[] evil;
    static byte[] manifest;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("pgferry-auth");
        source = AgentHandle.start(cluster, dir.resolve("source"));
        target = AgentHandle.start(cluster, dir.resolve("target"));
        marker = Path.of("/tmp", "pgferry-pwned-" + UUID.randomUUID());
        String comment = "x".repeat(200);
        BadInputTest.sql(cluster, "postgres", "CREATE DATABASE shop");
        BadInputTest.sql(cluster, "postgres", "CREATE DATABASE dest");
        BadInputTest.sql(cluster, "postgres", "CREATE DATABASE dest2");
        BadInputTest.sql(cluster, "shop", "CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY);"
                + " COMMENT ON TABLE app.items IS '" + comment + "'");
        assertEquals(200, source.post(M + "/schema-archive", Map.of("database", "shop")).status());
        archive = source.get(M + "/schema-archive").raw();
        manifest = source.get(M + "/schema-archive/manifest").raw();
        evil = withProgram(archive);
    }

    /** The archive with its COMMENT statement rewritten, at the same length, into a shell command. */
    private static byte[] withProgram(byte[] dump) {
        String statement = "COMMENT ON TABLE app.items IS '" + "x".repeat(200) + "';";
        String payload = "COPY (SELECT 1) TO PROGRAM 'touch " + marker + "'; --";
        return replace(dump, statement, payload + "-".repeat(statement.length() - payload.length()));
    }

    @AfterAll
    static void stop() throws Exception {
        for (AgentHandle a : new AgentHandle[] {source, target}) {
            if (a != null) {
                a.close();
            }
        }
        Files.deleteIfExists(marker);
    }

    @Test
    void anEditedArchiveIsRefusedWhateverManifestComesWithIt() throws Exception {
        String evilSha = sha256(evil);
        String realSha = sha256(archive);
        // The archive alone is only bytes; it is stored (and replaces any earlier one), not trusted.
        assertEquals(200, target.putBytes(M + "/schema-archive", evil, evilSha).status());

        byte[] hashEdited = replace(manifest, realSha, evilSha);
        refused(target.putJsonBytes(M + "/schema-archive/manifest", hashEdited), "manifest_signature_invalid",
                "changed after the source agent signed it");
        refused(target.putJsonBytes(M + "/schema-archive/manifest", manifest), "archive_manifest_mismatch",
                "not the archive stored here");
        ObjectNode unsigned = (ObjectNode) JSON.readTree(hashEdited);
        unsigned.remove("signature");
        refused(target.putJsonBytes(M + "/schema-archive/manifest", JSON.writeValueAsBytes(unsigned)),
                "manifest_unsigned", "carries no signature");
        ArchiveKey otherKey = ArchiveKey.of(Secret.of(AgentFixture.newToken()));
        byte[] otherSigned = otherKey.sign(new MigrationId("auth"), Json.MAPPER.writeValueAsBytes(
                Json.MAPPER.treeToValue(unsigned, Manifest.class)));
        Answer other = target.putJsonBytes(M + "/schema-archive/manifest", otherSigned);
        refused(other, "manifest_key_mismatch", otherKey.keyId());
        // A genuine manifest of another migration (same key) does not pass for this one.
        assertEquals(200, source.post("/v1/migrations/replay/schema-archive", Map.of("database", "shop")).status());
        byte[] replay = source.get("/v1/migrations/replay/schema-archive/manifest").raw();
        refused(target.putJsonBytes(M + "/schema-archive/manifest", replay), "manifest_signature_invalid",
                "another migration");
        // Forged in size too: 40 MiB is refused by its signature without being parsed.
        byte[] big = bigUnsignedLookalike(hashEdited, 40 * 1024 * 1024);
        refused(target.putJsonBytes(M + "/schema-archive/manifest", big), "manifest_signature_invalid",
                "signed it");

        for (boolean check : new boolean[] {true, false}) {
            Answer apply = target.post(M + "/schema-apply?wait=60", Map.of("database", "dest", "check", check));
            assertEquals(404, apply.status(), apply.body().toString());
            assertEquals("archive_not_found", apply.at("/code").asText());
        }
        assertEquals(404, target.get(M + "/schema-archive/manifest").status(), "no manifest was stored");
        assertEquals("0", BadInputTest.one(cluster, "dest", "SELECT count(*) FROM pg_class c JOIN pg_namespace n"
                + " ON n.oid = c.relnamespace WHERE n.nspname = 'app'"), "nothing was restored");
        assertFalse(Files.exists(marker), "the program never ran");
    }

    @Test
    void aRestoreReadsOnlyTheVerifiedCopyOfTheArchive() throws Exception {
        String path = "/v1/migrations/pinned";
        assertEquals(200, source.post(path + "/schema-archive", Map.of("database", "shop")).status());
        byte[] good = source.get(path + "/schema-archive").raw();
        byte[] signed = source.get(path + "/schema-archive/manifest").raw();
        byte[] bad = withProgram(good);
        assertEquals(200, target.putBytes(path + "/schema-archive", good, sha256(good)).status());
        assertEquals(200, target.putJsonBytes(path + "/schema-archive/manifest", signed).status());
        // A new archive afterwards (the target's token is enough for that) drops the manifest: nothing to restore.
        assertEquals(200, target.putBytes(path + "/schema-archive", bad, sha256(bad)).status());
        assertEquals(404, target.post(path + "/schema-apply", Map.of("database", "dest2", "check", true)).status());
        // Uploaded again, then the archive file swapped behind the agent's back (as a restore would have seen an
        // upload landing between its plan and its pg_restore): the restore reads the verified copy.
        assertEquals(200, target.putBytes(path + "/schema-archive", good, sha256(good)).status());
        assertEquals(200, target.putJsonBytes(path + "/schema-archive/manifest", signed).status());
        Files.write(dir.resolve("target/state/pinned/schema.dump"), bad);
        Answer apply = target.post(path + "/schema-apply?wait=60", Map.of("database", "dest2"));
        assertEquals(200, apply.status(), apply.body().toString());
        assertEquals("succeeded", apply.at("/job/state").asText(), apply.body().toString());
        assertEquals("1", BadInputTest.one(cluster, "dest2", "SELECT count(*) FROM pg_class WHERE relname = 'items'"));
        assertTrue(BadInputTest.one(cluster, "dest2", "SELECT obj_description('app.items'::regclass)")
                .startsWith("xxx"), "the genuine comment was restored");
        assertFalse(Files.exists(marker), "the program never ran");
    }

    private static void refused(Answer a, String code, String detailPart) {
        assertEquals(422, a.status(), () -> new String(a.raw(), StandardCharsets.UTF_8));
        assertEquals(code, a.at("/code").asText(), a.body().toString());
        assertTrue(a.at("/detail").asText().contains(detailPart), a.body().toString());
    }

    /** A manifest-shaped document of about {@code size} bytes: the edited one with a huge entries list. */
    private static byte[] bigUnsignedLookalike(byte[] doc, int size) {
        String text = new String(doc, StandardCharsets.UTF_8);
        int at = text.indexOf("\"entries\":[") + "\"entries\":[".length();
        String entry = "{\"id\":1,\"section\":\"pre-data\",\"desc\":\"COMMENT\",\"toc_text\":\"" + "y".repeat(200)
                + "\"},";
        StringBuilder sb = new StringBuilder(size + 1024).append(text, 0, at);
        while (sb.length() < size) {
            sb.append(entry);
        }
        sb.append(text.substring(at));
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] replace(byte[] data, String what, String with) {
        byte[] w = what.getBytes(StandardCharsets.UTF_8);
        byte[] r = with.getBytes(StandardCharsets.UTF_8);
        assertEquals(w.length, r.length, "a same-length edit keeps the archive readable");
        int found = -1;
        outer:
        for (int i = 0; i + w.length <= data.length; i++) {
            for (int j = 0; j < w.length; j++) {
                if (data[i + j] != w[j]) {
                    continue outer;
                }
            }
            found = i;
            break;
        }
        assertTrue(found >= 0, "the archive holds " + what);
        byte[] out = data.clone();
        System.arraycopy(r, 0, out, found, r.length);
        return out;
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
