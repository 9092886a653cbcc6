package org.densenet4j.zoo.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Downloads against a loopback HTTP server this test starts: success, errors, truncation, wrong
 * hashes, stalls, redirects and their loops, lying lengths and endless bodies. Every failure names
 * the URL, what was expected and what came, and the manual step, and leaves nothing behind.
 */
class DownloadTest {

    private static final byte[] PAYLOAD = new byte[200_000];
    private static String sha256;
    private static HttpServer server;
    private static String base;
    private static final String MANUAL = "download it yourself and run densenet convert";

    @TempDir
    Path dir;

    @BeforeAll
    static void serve() throws Exception {
        new Random(7).nextBytes(PAYLOAD);
        sha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(PAYLOAD));
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newFixedThreadPool(8, r -> {
            Thread t = new Thread(r, "loopback-server");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/ok", ex -> send(ex, 200, PAYLOAD, PAYLOAD.length));
        server.createContext("/missing", ex -> send(ex, 404, new byte[0], -1));
        server.createContext("/broken", ex -> send(ex, 500, "oops".getBytes(), 4));
        server.createContext("/truncated", ex -> {
            ex.sendResponseHeaders(200, PAYLOAD.length);
            OutputStream out = ex.getResponseBody();
            out.write(PAYLOAD, 0, PAYLOAD.length / 2);
            out.flush();
            // A handler that throws makes the server drop the connection: the body ends early.
            throw new IOException("the connection breaks half way");
        });
        server.createContext("/other", ex -> {
            byte[] other = PAYLOAD.clone();
            other[100] ^= 1;
            send(ex, 200, other, other.length);
        });
        server.createContext("/stall", ex -> {
            ex.sendResponseHeaders(200, PAYLOAD.length);
            OutputStream out = ex.getResponseBody();
            out.write(PAYLOAD, 0, 1000);
            out.flush();
            awaitEndOfTests(); // a stall that lasts, whatever the client's timeout and the machine's speed
            ex.close();
        });
        server.createContext("/redirect", ex -> redirect(ex, "/ok"));
        server.createContext("/loop-a", ex -> redirect(ex, "/loop-b"));
        server.createContext("/loop-b", ex -> redirect(ex, "/loop-a"));
        server.createContext("/claims-less", ex -> {
            ex.getResponseHeaders().set("Content-Length", Integer.toString(PAYLOAD.length / 2));
            ex.sendResponseHeaders(200, PAYLOAD.length / 2);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(PAYLOAD, 0, PAYLOAD.length / 2);
            }
        });
        server.createContext("/endless", ex -> {
            ex.sendResponseHeaders(200, 0); // chunked, no length
            try (OutputStream out = ex.getResponseBody()) {
                for (int i = 0; i < 400; i++) { // 80 MB, far past the 1 MB the test allows
                    out.write(PAYLOAD);
                }
            } catch (IOException e) {
                // the client hung up: that is the point
            }
        });
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterAll
    static void stop() {
        testsDone.countDown();
        server.stop(0);
    }

    private static void send(HttpExchange ex, int status, byte[] body, long length) throws IOException {
        ex.sendResponseHeaders(status, length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    private static void redirect(HttpExchange ex, String to) throws IOException {
        ex.getResponseHeaders().set("Location", to);
        ex.sendResponseHeaders(302, -1);
        ex.close();
    }

    private static final java.util.concurrent.CountDownLatch testsDone = new java.util.concurrent.CountDownLatch(1);

    private static void awaitEndOfTests() {
        try {
            testsDone.await(2, java.util.concurrent.TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Path fetch(String path, String hex) throws IOException {
        return Download.fetch(URI.create(path.contains(":") ? path : base + path), new Download.Expected("SHA-256",
                hex),
                dir, new Download.Options(2000, 500, 1 << 20, MANUAL));
    }

    private void assertFails(String path, String hex, String... parts) throws IOException {
        IOException e = assertThrows(IOException.class, () -> fetch(path, hex));
        String url = path.contains(":") ? path : base + path;
        assertTrue(e.getMessage().startsWith(url + ": "), () -> "names the URL: " + e.getMessage());
        assertTrue(e.getMessage().endsWith(MANUAL), () -> "names the manual step: " + e.getMessage());
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), () -> "expected '" + part + "' in: " + e.getMessage());
        }
        try (var left = Files.list(dir)) {
            assertEquals(0, left.count(), "nothing is left behind");
        }
    }

    @Test
    void aGoodDownloadIsCheckedAndKept() throws Exception {
        Path file = fetch("/ok", sha256);
        assertArrayEquals(PAYLOAD, Files.readAllBytes(file));
        assertEquals(dir, file.getParent());
        assertArrayEquals(PAYLOAD, Files.readAllBytes(fetch("/ok", sha256.substring(0, 8))),
                "a hash prefix, as torchvision's");
        assertArrayEquals(PAYLOAD, Files.readAllBytes(fetch("/redirect", sha256)), "after a redirect");
        Path local = Files.write(dir.resolve("local.bin"), PAYLOAD);
        assertArrayEquals(PAYLOAD, Files.readAllBytes(fetch(local.toUri().toString(), sha256)), "a file URL");
    }

    @Test
    void httpErrorsAreNamed() throws Exception {
        assertFails("/missing", sha256, "answered HTTP 404", "expected 200");
        assertFails("/broken", sha256, "answered HTTP 500");
    }

    @Test
    void shortLongAndWrongBodiesAreNamed() throws Exception {
        assertFails("/truncated", sha256, "after 100000 of", "200000 bytes");
        assertFails("/other", sha256, "its SHA-256 is ", "expected " + sha256, "200000 bytes came");
        assertFails("/claims-less", sha256, "expected " + sha256, "100000 bytes came");
        assertFails("/endless", sha256, "sent more than the 1048576 bytes a weight file may have");
    }

    @Test
    void stallsRedirectLoopsAndOtherSchemesAreNamed() throws Exception {
        assertFails("/stall", sha256, "stalled: no data for 500 ms after 1000 bytes");
        assertFails("/loop-a", sha256,
                "redirects in a loop: " + base + "/loop-a -> " + base + "/loop-b -> " + base + "/loop-a");
        assertFails("ftp://127.0.0.1/x", sha256, "is not an http, https or file URL");
        assertFails("http://127.0.0.1:1/nothing-listens", sha256, "cannot be reached");
    }
}
