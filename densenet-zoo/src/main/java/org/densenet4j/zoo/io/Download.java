package org.densenet4j.zoo.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Downloads one published file to a temporary file beside its destination, checked against the hash
 * its publisher gives, and nothing else: a failed, short, long, stalled or wrong download is an
 * {@link IOException} naming the URL, what was expected and what came, and the manual step, and
 * leaves no file behind. The caller renames (or converts) the checked file into place, so a good
 * cache is never replaced by a bad download, and two processes fetching at once each write their
 * own temporary file.
 *
 * <p>http, https and file URLs; redirects followed (at most {@value #MAX_REDIRECTS}, never in a
 * loop, never from https to http); connect and read timeouts; a progress line on stderr when
 * stderr is a terminal.
 */
public final class Download {

    /** Redirects followed before a download fails. */
    public static final int MAX_REDIRECTS = 5;

    /**
     * The hash a download must have: a digest algorithm ({@code SHA-256}, {@code MD5}) and its hex
     * value, or a prefix of it (torchvision names its files after the first 8 hex digits of their
     * SHA-256).
     */
    public record Expected(String algorithm, String hex) {
        /** The expected hash, lower-cased. */
        public Expected {
            hex = hex.toLowerCase(Locale.ROOT);
            if (!hex.matches("[0-9a-f]{8,128}")) {
                throw new IllegalArgumentException("not a hex digest (at least 8 hex digits): " + hex);
            }
        }

        boolean matches(String actual) {
            return actual.startsWith(hex);
        }

        @Override
        public String toString() {
            return algorithm + (hex.length() < 32 ? " starting " : " ") + hex;
        }
    }

    /** How to download: timeouts in milliseconds, the most bytes accepted, and the remedy to name. */
    public record Options(int connectTimeoutMs, int readTimeoutMs, long maxBytes, String manualStep) {
        /** 15 s to connect, 60 s without a byte, at most 2 GiB. */
        public static Options defaults(String manualStep) {
            return new Options(15_000, 60_000, 2L << 30, manualStep);
        }
    }

    private Download() {
    }

    /**
     * Downloads {@code url} into a new temporary file in {@code dir}, checked against
     * {@code expected}; returns the file, which the caller moves into place or deletes.
     *
     * @throws IOException naming the URL, what was expected and what came, and the manual step
     */
    public static Path fetch(URI url, Expected expected, Path dir, Options options) throws IOException {
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".download", ".part");
        boolean done = false;
        try {
            MessageDigest digest = digest(expected.algorithm());
            long bytes;
            try (Opened in = open(url, options); OutputStream out = Files.newOutputStream(tmp)) {
                bytes = copy(url, in.body(), out, digest, in.length(), options);
            }
            String actual = HexFormat.of().formatHex(digest.digest());
            if (!expected.matches(actual)) {
                throw failure(url, "its " + expected.algorithm() + " is " + actual + ", expected " + expected.hex()
                        + " (" + bytes + " bytes came: a damaged download, or another file)", options);
            }
            done = true;
            return tmp;
        } finally {
            if (!done) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /** An open download: its body and the length the server declared (-1 when it declared none). */
    private record Opened(InputStream body, long length, URLConnection connection) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            body.close();
            if (connection instanceof HttpURLConnection http) {
                http.disconnect();
            }
        }
    }

    private static Opened open(URI url, Options options) throws IOException {
        Set<URI> seen = new LinkedHashSet<>();
        URI at = url;
        while (true) {
            String scheme = at.getScheme() == null ? "" : at.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") && !scheme.equals("file")) {
                throw failure(url,
                        "is not an http, https or file URL" + (at.equals(url) ? "" : " (redirected to " + at + ")"),
                        options);
            }
            if (!seen.add(at)) {
                throw failure(url, "redirects in a loop: " + String.join(" -> ",
                        seen.stream().map(URI::toString).toList())
                        + " -> " + at, options);
            }
            URLConnection c = at.toURL().openConnection();
            c.setConnectTimeout(options.connectTimeoutMs());
            c.setReadTimeout(options.readTimeoutMs());
            if (!(c instanceof HttpURLConnection http)) {
                return new Opened(c.getInputStream(), c.getContentLengthLong(), c);
            }
            http.setInstanceFollowRedirects(false);
            http.setRequestProperty("User-Agent", "DenseNet4J");
            int status;
            try {
                status = http.getResponseCode();
            } catch (java.net.SocketTimeoutException e) {
                http.disconnect();
                throw failure(url, "did not answer within " + options.readTimeoutMs() + " ms (" + e.getMessage() + ")",
                        options);
            } catch (IOException e) {
                http.disconnect();
                throw failure(url, "cannot be reached (" + e + ")", options);
            }
            if (status >= 300 && status < 400 && http.getHeaderField("Location") != null) {
                URI next = at.resolve(http.getHeaderField("Location"));
                http.disconnect();
                if (at.getScheme().equalsIgnoreCase("https") && "http".equalsIgnoreCase(next.getScheme())) {
                    throw failure(url, "redirects from https to plain http (" + next + "); refused", options);
                }
                if (seen.size() > MAX_REDIRECTS) {
                    throw failure(url, "redirects more than " + MAX_REDIRECTS + " times", options);
                }
                at = next;
                continue;
            }
            if (status != 200) {
                http.disconnect();
                throw failure(url, "answered HTTP " + status + (http.getResponseMessage() == null ? ""
                        : " " + http.getResponseMessage()) + (at.equals(url) ? "" : " at " + at) + ", expected 200",
                        options);
            }
            long length = http.getContentLengthLong();
            if (length > options.maxBytes()) {
                http.disconnect();
                throw failure(url, "declares " + length + " bytes, more than the " + options.maxBytes()
                        + " a weight file may have", options);
            }
            return new Opened(http.getInputStream(), length, http);
        }
    }

    private static long copy(URI url, InputStream in, OutputStream out, MessageDigest digest, long declared,
                             Options options) throws IOException {
        Progress progress = Progress.onTerminal(url, declared);
        byte[] buf = new byte[1 << 16];
        long total = 0;
        try {
            for (int n; (n = in.read(buf)) > 0; ) {
                total += n;
                if (total > options.maxBytes() || (declared >= 0 && total > declared)) {
                    throw failure(url, "sent more than " + (declared >= 0 ? "the " + declared + " bytes it declared"
                            : "the " + options.maxBytes() + " bytes a weight file may have"), options);
                }
                digest.update(buf, 0, n);
                out.write(buf, 0, n);
                progress.update(total);
            }
        } catch (java.net.SocketTimeoutException e) {
            throw failure(url, "stalled: no data for " + options.readTimeoutMs() + " ms after " + total + " bytes",
                    options);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(url + ":")) {
                throw e;
            }
            throw failure(url,
                    "broke off after " + total + (declared >= 0 ? " of " + declared : "") + " bytes (" + e + ")",
                    options);
        } finally {
            progress.done();
        }
        if (declared >= 0 && total != declared) {
            throw failure(url, "ended after " + total + " of the " + declared + " bytes it declared (truncated)",
                    options);
        }
        return total;
    }

    private static IOException failure(URI url, String what, Options options) {
        return new IOException(url + ": " + what + (options.manualStep() == null ? "" : "; " + options.manualStep()));
    }

    private static MessageDigest digest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalArgumentException("unknown digest " + algorithm, e);
        }
    }

    /** A progress line with bytes, rate and ETA, redrawn in place; silent when stderr is no terminal. */
    private static final class Progress {
        private final PrintStream err;
        private final URI url;
        private final long total;
        private final long start = System.nanoTime();
        private long lastDraw;

        private Progress(PrintStream err, URI url, long total) {
            this.err = err;
            this.url = url;
            this.total = total;
        }

        static Progress onTerminal(URI url, long total) {
            return new Progress(System.console() != null ? System.err : null, url, total);
        }

        void update(long bytes) {
            long now = System.nanoTime();
            if (err == null || now - lastDraw < 200_000_000L) {
                return;
            }
            lastDraw = now;
            double seconds = (now - start) / 1e9;
            double rate = bytes / Math.max(seconds, 1e-3);
            String eta = total > 0 ? String.format(Locale.ROOT, ", %.0f s left", (total - bytes) / Math.max(rate,
                    1)) : "";
            err.printf(Locale.ROOT, "\r%s: %.1f%s MB, %.1f MB/s%s   ", url.getPath().replaceAll(".*/", ""),
                    bytes / 1e6, total > 0 ? String.format(Locale.ROOT, " of %.1f", total / 1e6) : "", rate / 1e6, eta);
        }

        void done() {
            if (err != null && lastDraw != 0) {
                err.println();
            }
        }
    }
}
