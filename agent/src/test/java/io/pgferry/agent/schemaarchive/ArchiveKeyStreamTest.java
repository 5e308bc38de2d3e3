package io.pgferry.agent.schemaarchive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgferry.agent.config.Secret;
import io.pgferry.agent.migration.MigrationId;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The streamed signature (how the source agent now stores a manifest of any size) is byte for byte the one
 * {@link ArchiveKey#sign} makes, whatever the pieces the body arrives in; the streamed check and the streamed
 * unsigned view agree with it.
 */
class ArchiveKeyStreamTest {
    private static final ArchiveKey KEY = ArchiveKey.of(Secret.of("k".repeat(32)));
    private static final MigrationId M = new MigrationId("stream");

    @Test
    void streamedSignatureEqualsTheWholeDocumentOne(@TempDir Path dir) throws Exception {
        byte[] body = ("{\"format\":2,\"tables\":[" + "{\"schema\":\"s ü\",\"name\":\"t\"},".repeat(5000)
                + "{\"schema\":\"s\",\"name\":\"last\"}]}").getBytes(StandardCharsets.UTF_8);
        byte[] whole = KEY.sign(M, body);
        for (int piece : new int[] {1, 7, 8192, body.length}) {
            Path file = Files.createFile(dir.resolve("m-" + piece));
            KEY.signTo(M, file, out -> {
                for (int i = 0; i < body.length; i += piece) {
                    out.write(body, i, Math.min(piece, body.length - i));
                }
            });
            assertArrayEquals(whole, Files.readAllBytes(file), "pieces of " + piece);
            assertTrue(KEY.verifies(M, file));
            assertFalse(KEY.verifies(new MigrationId("other"), file));
            try (InputStream in = ArchiveKey.unsigned(file).orElseThrow()) {
                assertArrayEquals(body, in.readAllBytes());
            }
        }
        Path changed = dir.resolve("changed");
        byte[] edited = whole.clone();
        edited[edited.length - 5] = 'X';
        Files.write(changed, edited);
        assertFalse(KEY.verifies(M, changed));
        Files.writeString(changed, "{\"format\":2}");
        assertEquals(java.util.Optional.empty(), ArchiveKey.unsigned(changed));
    }

    @Test
    void onlyAnObjectWithFieldsIsSigned(@TempDir Path dir) throws Exception {
        Path file = Files.createFile(dir.resolve("m"));
        assertThrows(IllegalArgumentException.class, () -> KEY.signTo(M, file, out -> out.write('[')));
        assertThrows(IllegalArgumentException.class, () -> KEY.signTo(M, file, out -> out.write("{}".getBytes())));
        assertThrows(IllegalArgumentException.class, () -> KEY.signTo(M, file, out -> out.write('{')));
    }
}
