package org.densenet4j.zoo.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Files written whole or not at all: the content goes to a temporary file beside the target,
 * which is then renamed over it, so a reader (or a crash) never sees half a file and a failed
 * write keeps the file it would have replaced. Model zips have their own, checked path
 * ({@link ModelFiles}); this is for reports, arrays and curves.
 */
public final class AtomicFile {

    /** Fills the temporary file. */
    @FunctionalInterface
    public interface Content {
        /** Writes the whole content to {@code tmp}. */
        void writeTo(Path tmp) throws IOException;
    }

    private AtomicFile() {
    }

    /** Writes {@code target} through a temporary file beside it that {@code content} fills. */
    public static void write(Path target, Content content) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + target.getFileName(), ".part");
        try {
            content.writeTo(tmp);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Writes {@code text} to {@code target} in UTF-8, whole or not at all. */
    public static void writeString(Path target, CharSequence text) throws IOException {
        write(target, tmp -> Files.writeString(tmp, text, StandardCharsets.UTF_8));
    }

    /** Writes {@code bytes} to {@code target}, whole or not at all. */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, tmp -> Files.write(tmp, bytes));
    }
}
