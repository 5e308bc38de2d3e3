package io.pgferry.agent.schemaarchive;

import io.pgferry.agent.config.Secret;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.problem.ApiException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The key that makes a schema archive trustworthy: the source agent signs each manifest with it (HMAC-SHA256), the
 * target agent stores and restores only an archive whose manifest it verifies. The manifest names the archive by its
 * sha256, the migration and the source database, so the signature covers all of them; the migration id is also part
 * of what is signed, so a manifest made for one migration is refused under another.
 *
 * <p>The signature is the manifest document's first field, of fixed length, and covers the document's exact bytes
 * (with the signature's own 64 hex digits read as zeros):
 * <pre>{"signature":"hmac-sha256:&lt;key id, 16 hex&gt;:&lt;mac, 64 hex&gt;","format":1,...}</pre>
 * so the target checks a body as it streams in, in constant memory, and parses only what the key vouches for:
 * a forged manifest, however large or nested, is refused without ever being parsed.
 */
public final class ArchiveKey {
    private static final String ALGORITHM = "HmacSHA256";
    private static final byte[] DOMAIN = "pgferry-manifest-v1\0".getBytes(StandardCharsets.US_ASCII);
    static final String START = "{\"signature\":\"hmac-sha256:";
    private static final int KEY_ID_HEX = 16;
    private static final int MAC_HEX = 64;
    /** START, key id, ':', mac, then {@code ",} before the document's next field. */
    static final int HEADER_LENGTH = START.length() + KEY_ID_HEX + 1 + MAC_HEX + 2;
    private static final int MAC_AT = START.length() + KEY_ID_HEX + 1;
    private static final byte[] ZEROS = "0".repeat(MAC_HEX).getBytes(StandardCharsets.US_ASCII);

    private final SecretKeySpec key;
    private final String keyId;

    private ArchiveKey(byte[] secret) {
        this.key = new SecretKeySpec(secret, ALGORITHM);
        Mac mac = mac();
        this.keyId = HexFormat.of().formatHex(mac.doFinal("pgferry-archive-key-id".getBytes(StandardCharsets.US_ASCII)),
                0, KEY_ID_HEX / 2);
    }

    public static ArchiveKey of(Secret secret) {
        return new ArchiveKey(secret.bytes());
    }

    /**
     * @throws ApiException 500 {@code archive_key_missing} when the agent has no {@code archive_key_file}
     */
    public static ArchiveKey require(Optional<ArchiveKey> key) {
        return key.orElseThrow(() -> new ApiException(500, "archive_key_missing", "No archive key",
                "this agent has no archive_key_file, so it neither makes nor accepts schema archives; give the"
                        + " source and the target agent the same key file (docs/security.md) and restart them"));
    }

    /**
     * A name for the key that reveals nothing of it, so an error can say that two agents hold different keys.
     */
    public String keyId() {
        return keyId;
    }

    /** The signed document: {@code unsigned} (a JSON object, compact) with the signature as its first field. */
    public byte[] sign(MigrationId migration, byte[] unsigned) {
        byte[] header = zeroedHeader();
        Mac mac = start(migration);
        mac.update(header);
        ByteArrayOutputStream out = new ByteArrayOutputStream(header.length + unsigned.length);
        out.writeBytes(header);
        SignedFields fields = new SignedFields(mac, out);
        try {
            fields.write(unsigned, 0, unsigned.length);
        } catch (IOException e) {
            throw new UncheckedIOException(e);  // a ByteArrayOutputStream does not fail
        }
        fields.requireSome();
        byte[] doc = out.toByteArray();
        System.arraycopy(signature(mac), 0, doc, MAC_AT, MAC_HEX);
        return doc;
    }

    /** The signature field with its MAC read as zeros, as the MAC covers it, then the comma before the next field. */
    private byte[] zeroedHeader() {
        return (START + keyId + ":" + new String(ZEROS, StandardCharsets.US_ASCII) + "\",")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] signature(Mac mac) {
        return HexFormat.of().formatHex(mac.doFinal()).getBytes(StandardCharsets.US_ASCII);
    }

    /** Writes one JSON object, compact, to the stream it is given. */
    interface JsonBody {
        void writeTo(OutputStream out) throws IOException;
    }

    /**
     * Writes the signed document to {@code file} as {@link #sign} makes it, streaming: the body goes to the file as it
     * is serialized and the signature is written into its place at the end, so a manifest of tens of MiB (20,000
     * tables: about 30) is never held whole.
     */
    void signTo(MigrationId migration, Path file, JsonBody body) throws IOException {
        byte[] header = zeroedHeader();
        Mac mac = start(migration);
        mac.update(header);
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS), 64 * 1024)) {
            out.write(header);
            SignedFields fields = new SignedFields(mac, out);
            body.writeTo(fields);
            fields.requireSome();
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            ByteBuffer signature = ByteBuffer.wrap(signature(mac));
            while (signature.hasRemaining()) {
                ch.write(signature, MAC_AT + signature.position());
            }
        }
    }

    /**
     * The body's bytes after its opening brace, to the file and the MAC: the signature header took the brace's place.
     * An object with no field would leave a dangling comma after the header, so it is refused.
     */
    private static final class SignedFields extends OutputStream {
        private final Mac mac;
        private final OutputStream out;
        private boolean braceSeen;
        private long fieldBytes;

        SignedFields(Mac mac, OutputStream out) {
            this.mac = mac;
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (len > 0 && !braceSeen) {
                if (b[off] != '{') {
                    throw new IllegalArgumentException("a manifest is a JSON object");
                }
                braceSeen = true;
                off++;
                len--;
            }
            if (len > 0 && fieldBytes == 0 && b[off] == '}') {
                throw new IllegalArgumentException("a manifest is a JSON object with fields");
            }
            fieldBytes += len;
            mac.update(b, off, len);
            out.write(b, off, len);
        }

        void requireSome() {
            if (fieldBytes < 1) {
                throw new IllegalArgumentException("a manifest is a JSON object with fields");
            }
        }
    }

    /** Whether a stored document carries this key's valid signature for the migration, read as a stream. */
    boolean verifies(MigrationId migration, Path doc) throws IOException {
        Verifier v = verifier(migration);
        try (InputStream in = Files.newInputStream(doc, LinkOption.NOFOLLOW_LINKS)) {
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) {
                v.update(buf, 0, n);
            }
        }
        return v.outcome() == Outcome.VALID;
    }

    /**
     * The stored document without its signature, as a stream to parse: what the signature covered, as a plain JSON
     * object. Empty when the document has no signature header.
     */
    static Optional<InputStream> unsigned(Path signed) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(signed, LinkOption.NOFOLLOW_LINKS), 64 * 1024);
        try {
            byte[] header = in.readNBytes(HEADER_LENGTH);
            if (header.length == HEADER_LENGTH && isHeader(header)) {
                return Optional.of(new SequenceInputStream(new ByteArrayInputStream(new byte[] {'{'}), in));
            }
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
        in.close();
        return Optional.empty();
    }

    /** Whether the first {@link #HEADER_LENGTH} bytes are a signature field followed by a comma. */
    private static boolean isHeader(byte[] bytes) {
        return Arrays.equals(bytes, 0, START.length(), START.getBytes(StandardCharsets.US_ASCII), 0, START.length())
                && bytes[MAC_AT - 1] == ':' && bytes[HEADER_LENGTH - 2] == '"' && bytes[HEADER_LENGTH - 1] == ',';
    }

    Verifier verifier(MigrationId migration) {
        return new Verifier(start(migration));
    }

    private Mac start(MigrationId migration) {
        Mac mac = mac();
        mac.update(DOMAIN);
        mac.update(migration.value().getBytes(StandardCharsets.US_ASCII));
        mac.update((byte) 0);
        return mac;
    }

    private Mac mac() {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every Java runtime has " + ALGORITHM, e);
        }
    }

    enum Outcome { VALID, UNSIGNED, OTHER_KEY, INVALID }

    /** Checks a document fed to it piece by piece, as it arrives. */
    final class Verifier {
        private final Mac mac;
        private final byte[] header = new byte[HEADER_LENGTH];
        private int headerBytes;
        private boolean unsigned;

        private Verifier(Mac mac) {
            this.mac = mac;
        }

        void update(byte[] buf, int off, int len) {
            if (unsigned) {
                return;
            }
            int take = Math.min(len, HEADER_LENGTH - headerBytes);
            if (take > 0) {
                System.arraycopy(buf, off, header, headerBytes, take);
                headerBytes += take;
                if (headerBytes == HEADER_LENGTH) {
                    if (!isHeader(header)) {
                        unsigned = true;
                        return;
                    }
                    byte[] zeroed = header.clone();
                    System.arraycopy(ZEROS, 0, zeroed, MAC_AT, MAC_HEX);
                    mac.update(zeroed);
                }
            }
            if (len > take) {
                mac.update(buf, off + take, len - take);
            }
        }

        /** The key id the document names, when it has a signature header. */
        String keyIdGiven() {
            return headerBytes == HEADER_LENGTH && !unsigned
                    ? new String(header, START.length(), KEY_ID_HEX, StandardCharsets.US_ASCII) : null;
        }

        Outcome outcome() {
            if (unsigned || headerBytes < HEADER_LENGTH) {
                return Outcome.UNSIGNED;
            }
            if (!keyId.equals(keyIdGiven())) {
                return Outcome.OTHER_KEY;
            }
            byte[] expected = HexFormat.of().formatHex(mac.doFinal()).getBytes(StandardCharsets.US_ASCII);
            byte[] given = Arrays.copyOfRange(header, MAC_AT, MAC_AT + MAC_HEX);
            return MessageDigest.isEqual(expected, given) ? Outcome.VALID : Outcome.INVALID;
        }
    }
}
