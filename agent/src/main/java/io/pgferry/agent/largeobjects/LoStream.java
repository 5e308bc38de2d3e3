package io.pgferry.agent.largeobjects;

import io.pgferry.agent.json.Json;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.problem.BadRequestException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * The wire format between the export of one side and the import of the other, passed through untouched by the
 * module in between: a magic line, then frames - a 4-byte big-endian header length, the header as JSON
 * ({@link LoHeader}), and for a large object its content as chunks (a 4-byte length, then that many bytes; a zero
 * length ends the object) - and an end frame. A stream that stops
 * before its end frame (the sender failed half-way) is refused as a whole, so a half-read object never lands.
 */
final class LoStream {
    static final byte[] MAGIC = "PGFERRY LARGE OBJECTS 1\n".getBytes(StandardCharsets.US_ASCII);
    static final String CONTENT_TYPE = "application/vnd.pgferry.large-objects";
    /** A header is small JSON; a comment of more than this is refused rather than buffered. */
    static final int MAX_HEADER = 1024 * 1024;
    static final int MAX_CHUNK = 8 * 1024 * 1024;

    private LoStream() {
    }

    static final class Writer {
        private final DataOutputStream out;

        Writer(OutputStream out) throws IOException {
            // Buffered: a frame is several small writes, each a synchronized call into the servlet's stream otherwise.
            this.out = new DataOutputStream(new BufferedOutputStream(out, 64 * 1024));
            this.out.write(MAGIC);
        }

        void header(LoHeader h) throws IOException {
            byte[] json = Json.MAPPER.writeValueAsBytes(h);
            out.writeInt(json.length);
            out.write(json);
        }

        /** A chunk of the current object's content; an empty one is skipped (zero ends the object). */
        void chunk(byte[] bytes) throws IOException {
            if (bytes.length > 0) {
                out.writeInt(bytes.length);
                out.write(bytes);
            }
        }

        void endOfObject() throws IOException {
            out.writeInt(0);
        }

        void flush() throws IOException {
            out.flush();
        }
    }

    static final class Reader {
        private final DataInputStream in;

        Reader(InputStream in) throws IOException {
            this.in = new DataInputStream(new BufferedInputStream(in, 64 * 1024));
            byte[] magic = this.in.readNBytes(MAGIC.length);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new BadRequestException("body", "the body is not a large-object stream: send what POST "
                        + "large-objects/export answered on the other side");
            }
        }

        /** The next header; a stream that ends here, without its end frame, is incomplete. */
        LoHeader next() throws IOException {
            int length;
            try {
                length = in.readInt();
            } catch (EOFException e) {
                throw incomplete();
            }
            if (length <= 0 || length > MAX_HEADER) {
                throw new BadRequestException("body", "a frame header of " + length + " bytes: the stream is "
                        + "damaged (headers are 1 byte to 1 MiB)");
            }
            byte[] json = in.readNBytes(length);
            if (json.length < length) {
                throw incomplete();
            }
            return Json.parse(json, LoHeader.class).validated();
        }

        /** The next chunk of the current object's content; null after its last one. */
        byte[] chunk() throws IOException {
            int length;
            try {
                length = in.readInt();
            } catch (EOFException e) {
                throw incomplete();
            }
            if (length == 0) {
                return null;
            }
            if (length < 0 || length > MAX_CHUNK) {
                throw new BadRequestException("body", "a content chunk of " + length + " bytes: the stream is "
                        + "damaged (chunks are 1 byte to 8 MiB)");
            }
            byte[] chunk = in.readNBytes(length);
            if (chunk.length < length) {
                throw incomplete();
            }
            return chunk;
        }

        private static ApiException incomplete() {
            return ApiException.unprocessable("stream_incomplete", "the large-object stream ended before its end "
                    + "frame: the sending agent stopped half-way (its log says why); nothing was changed here, "
                    + "run the step again", List.of());
        }
    }
}
