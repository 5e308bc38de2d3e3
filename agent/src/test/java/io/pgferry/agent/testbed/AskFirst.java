package io.pgferry.agent.testbed;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A request with a big body sent as curl sends one: the headers with {@code Expect: 100-continue} first, the body
 * only after the server's 100. A server that refuses the body unread (413 on its Content-Length) answers before any of
 * it is on the wire, so the answer is always read - a client that writes the whole body may see the connection reset
 * under it instead. Java 17's HttpClient waits forever for a 100 that does not come, hence this over a plain socket.
 */
public final class AskFirst {
    public record Answer(int status, byte[] body) {
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private AskFirst() {
    }

    public static Answer send(URI base, String token, String method, String path, byte[] body, String contentType)
            throws IOException {
        try (Socket socket = new Socket(base.getHost(), base.getPort())) {
            socket.setSoTimeout(120_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = new BufferedInputStream(socket.getInputStream());
            out.write((method + " " + path + " HTTP/1.1\r\nHost: " + base.getHost() + ":" + base.getPort()
                    + "\r\nAuthorization: Bearer " + token + "\r\nContent-Type: " + contentType
                    + "\r\nContent-Length: " + body.length + "\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Map<String, String> headers = new HashMap<>();
            int status = head(in, headers);
            if (status == 100) {
                out.write(body);
                out.flush();
                headers.clear();
                status = head(in, headers);
            }
            return new Answer(status, body(in, headers));
        }
    }

    private static int head(InputStream in, Map<String, String> headers) throws IOException {
        String status = line(in);
        for (String line = line(in); !line.isEmpty(); line = line(in)) {
            int colon = line.indexOf(':');
            headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
        return Integer.parseInt(status.split(" ")[1]);
    }

    private static byte[] body(InputStream in, Map<String, String> headers) throws IOException {
        if (headers.containsKey("content-length")) {
            return in.readNBytes(Integer.parseInt(headers.get("content-length")));
        }
        if (!"chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            return in.readAllBytes();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int size = Integer.parseInt(line(in).split(";")[0].trim(), 16); size > 0;
             size = Integer.parseInt(line(in).split(";")[0].trim(), 16)) {
            out.write(in.readNBytes(size));
            line(in);
        }
        return out.toByteArray();
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) {
                throw new IOException("the connection ended inside a response head");
            }
            if (b != '\r') {
                line.write(b);
            }
        }
        return line.toString(StandardCharsets.US_ASCII);
    }
}
