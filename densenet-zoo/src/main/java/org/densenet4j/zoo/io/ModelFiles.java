package org.densenet4j.zoo.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import org.densenet4j.dl4j.FastPath;
import org.densenet4j.dl4j.NativeDefaults;
import org.densenet4j.zoo.DenseNetBuilder;

import org.deeplearning4j.common.resources.DL4JResources;
import org.deeplearning4j.common.resources.ResourceType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.deeplearning4j.zoo.PretrainedType;

/**
 * DL4J model zips on disk: written atomically with a SHA-256 sidecar, read back only when the
 * checksum matches, and kept in DL4J's zoo cache ({@code ~/.deeplearning4j/models/<model>/}, moved
 * by the system property {@value DL4JResources#DL4J_RESOURCES_DIR_PROPERTY}).
 *
 * <p>Nothing here ever leaves a half-written file at a target path: a model is written to a
 * temporary file beside the target in one pass, checked by reading every entry back through its
 * CRC (and its parameters against its configuration), and renamed into place. A file that fails
 * its check is deleted and the file it would have replaced is kept. Reading a model never
 * instantiates a class the file names (see {@link #readObject} and {@link #read}).
 */
public final class ModelFiles {

    /** Suffix of the checksum file written beside every model zip. */
    public static final String CHECKSUM_SUFFIX = ".sha256";

    private ModelFiles() {
    }

    /** Where the zoo cache keeps the pretrained model {@code modelName} of {@code type}. */
    public static Path cachedModel(String modelName, PretrainedType type) {
        Path dir = DL4JResources.getDirectory(ResourceType.ZOO_MODEL, modelName).toPath();
        return dir.resolve(modelName + "_" + type.name().toLowerCase(Locale.ROOT) + ".zip");
    }

    /**
     * Writes {@code graph} to {@code target} (without updater state) and its checksum beside it.
     *
     * @param replace whether an existing file at {@code target} may be replaced
     * @throws FileAlreadyExistsException if {@code target} exists and {@code replace} is false
     * @throws IOException if writing or the read-back check fails; {@code target} is then untouched
     */
    public static void write(ComputationGraph graph, Path target, boolean replace) throws IOException {
        write(graph, target, replace, null, java.util.Map.of());
    }

    /**
     * Writes {@code graph} as {@link #write(ComputationGraph, Path, boolean)} does, with a
     * normaliser and named objects (for example the class labels) stored in the same zip, all of it
     * before the zip is renamed into place.
     *
     * @param normalizer the input normalisation to store with the model, or null
     * @param objects    serialisable objects stored under their names ({@code ModelSerializer.getObjectFromFile})
     */
    public static void write(ComputationGraph graph, Path target, boolean replace,
                             org.nd4j.linalg.dataset.api.preprocessor.Normalizer<?> normalizer,
                             java.util.Map<String, ?> objects) throws IOException {
        write(graph, target, replace, normalizer, objects, false);
    }

    /**
     * Writes {@code graph} as {@link #write(ComputationGraph, Path, boolean,
     * org.nd4j.linalg.dataset.api.preprocessor.Normalizer, java.util.Map)}
     * does, with the updater state too when {@code saveUpdater} (a training checkpoint, to be read
     * back with {@link #read(Path, boolean, boolean)}).
     */
    public static void write(ComputationGraph graph, Path target, boolean replace,
                             org.nd4j.linalg.dataset.api.preprocessor.Normalizer<?> normalizer,
                             java.util.Map<String, ?> objects, boolean saveUpdater) throws IOException {
        write(graph, target, replace, normalizer, objects, saveUpdater, null);
    }

    /**
     * Writes {@code graph} as {@link #write(ComputationGraph, Path, boolean,
     * org.nd4j.linalg.dataset.api.preprocessor.Normalizer, java.util.Map, boolean)}
     * does, with its {@link ModelCard} (preprocessing, input size, labels, provenance), unless null.
     */
    public static void write(ComputationGraph graph, Path target, boolean replace,
                             org.nd4j.linalg.dataset.api.preprocessor.Normalizer<?> normalizer,
                             java.util.Map<String, ?> objects, boolean saveUpdater, ModelCard card) throws IOException {
        Path absolute = target.toAbsolutePath();
        if (!replace && Files.exists(absolute)) {
            throw new FileAlreadyExistsException(absolute.toString(), null,
                    "exists, and replacing it was not asked for");
        }
        publish(absolute, tmp -> {
            PublishObserver watch = observer;
            try (java.io.OutputStream out = watch == null ? Files.newOutputStream(tmp)
                    : watch.wrap(Files.newOutputStream(tmp))) {
                ModelZip.write(graph, saveUpdater, normalizer, objects, card, out);
            }
        }, (tmp, sum) -> checkZip(tmp));
    }

    /**
     * The object stored in a model zip under {@code name} (by {@link #write} or DL4J's
     * {@code ModelSerializer.addObjectToFile}), read without running code from the file: only
     * strings, boxed numbers, java.util's collections and arrays of them are instantiated.
     *
     * @throws IOException naming the file and entry when the object is missing, damaged, holds any
     *                     other class, or is not a {@code type}
     */
    public static <T> T readObject(Path zip, String name, Class<T> type) throws IOException {
        return ModelZip.readObject(zip, name, type);
    }

    /**
     * The input normaliser stored in a model zip (by {@link #write} or DL4J's
     * {@code ModelSerializer.addNormalizerToModel}), or empty when it has none. Only DL4J's built-in
     * normaliser types are read; a header naming a custom serializer class is refused.
     *
     * @throws IOException naming the file when the normaliser is damaged or of a custom type
     */
    public static java.util.Optional<org.nd4j.linalg.dataset.api.preprocessor.Normalizer<?>> readNormalizer(Path zip)
            throws IOException {
        return ModelZip.readNormalizer(zip);
    }

    /**
     * A model's class names: its {@link ModelCard}'s, or else the list stored as object
     * {@code labels} (zips written before cards, and by DL4J programs that follow that convention);
     * empty when it has neither.
     *
     * @throws IOException naming the file when the stored labels are damaged or not strings
     */
    public static java.util.Optional<java.util.List<String>> readLabels(Path zip) throws IOException {
        java.util.Optional<ModelCard> card = ModelCard.read(zip);
        if (card.isPresent() && !card.get().labels().isEmpty()) {
            return java.util.Optional.of(card.get().labels());
        }
        if (!hasObject(zip, LABELS)) {
            return java.util.Optional.empty();
        }
        java.util.List<?> stored = readObject(zip, LABELS, java.util.List.class);
        for (Object label : stored) {
            if (!(label instanceof String)) {
                throw new IOException(zip + ": its stored labels hold a " + (label == null ? "null"
                        : label.getClass().getName())
                        + ", expected strings");
            }
        }
        return java.util.Optional.of(stored.stream().map(String.class::cast).toList());
    }

    /** The object name class labels are stored under. */
    public static final String LABELS = "labels";

    /** Whether a model zip stores an object under {@code name}. */
    public static boolean hasObject(Path zip, String name) throws IOException {
        try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(zip.toFile())) {
            return z.getEntry(ModelZip.OBJECT_PREFIX + name) != null;
        } catch (java.util.zip.ZipException e) {
            throw new IOException(zip + ": not a readable zip (" + e.getMessage() + ")", e);
        }
    }

    /** Writes a temporary file beside a target; the file is then vetted and renamed into place. */
    @FunctionalInterface
    private interface Fill {
        void into(Path tmp) throws IOException;
    }

    /** Vets a complete temporary file, given its SHA-256, before it replaces anything. */
    @FunctionalInterface
    private interface Vet {
        void check(Path tmp, String sha256) throws IOException;
    }

    /** The points of {@link #publish} a test can stop a process at, to kill it there. */
    enum Step {
        /** The temporary file is filled, not yet vetted. */
        FILLED,
        /** The checksum file accepting the new file (and the old one, if any) is in place; the old file still is. */
        CHECKSUMS_WIDENED,
        /** The new file is in place; the checksum file still accepts the old one too. */
        RENAMED
    }

    /** A test seam into {@link #publish}: what a process does at each step and how model bytes are written. */
    interface PublishObserver {
        /** The stream a model zip is written through. */
        default java.io.OutputStream wrap(java.io.OutputStream out) {
            return out;
        }

        /** Called when {@link #publish} reaches {@code step}. */
        default void reached(Step step) {
        }
    }

    /** The observer of this process's writes; null except in tests that kill a writing process. */
    static volatile PublishObserver observer;

    /**
     * The one way files reach their place here: filled in a temporary file beside {@code absolute},
     * vetted, then renamed into place with its checksum file, so a target is either the whole,
     * checked file or untouched.
     *
     * <p>A process killed at any point leaves a pair that reads back: the checksum file is first
     * widened to accept the new file and the old one, the new file is renamed over the old, and
     * only then does the checksum file name the new file alone (a kill before the rename of a new
     * target leaves only a checksum file, which the next write replaces). Temporary files carry their
     * process id; those of processes that are gone are deleted by the next write to the same target.
     */
    private static void publish(Path absolute, Fill fill, Vet vet) throws IOException {
        Path dir = absolute.getParent();
        Files.createDirectories(dir);
        sweepAbandoned(dir, absolute.getFileName().toString());
        String prefix = tempPrefix(absolute.getFileName().toString()) + ProcessHandle.current().pid() + "-";
        Path tmp = Files.createTempFile(dir, prefix, ".part");
        Path tmpSum = Files.createTempFile(dir, prefix, CHECKSUM_SUFFIX + ".part");
        PublishObserver watch = observer;
        try {
            fill.into(tmp);
            reached(watch, Step.FILLED);
            String sum = sha256(tmp);
            vet.check(tmp, sum);
            synchronized (COMMITS.computeIfAbsent(absolute, k -> new Object())) {
                commit(absolute, tmp, tmpSum, sum, watch);
            }
        } finally {
            Files.deleteIfExists(tmp);
            Files.deleteIfExists(tmpSum);
        }
    }

    /** One monitor per target, so that two writers in this process commit one after the other. */
    private static final java.util.concurrent.ConcurrentMap<Path, Object> COMMITS =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** Renames the vetted {@code tmp} over {@code absolute}, keeping the checksum file true at every step. */
    private static void commit(Path absolute, Path tmp, Path tmpSum, String sum, PublishObserver watch)
            throws IOException {
        Path sumFile = checksumFile(absolute);
        String name = absolute.getFileName().toString();
        java.util.List<String> old = !Files.exists(absolute) ? java.util.List.of()
                : Files.exists(sumFile) ? acceptedSums(sumFile) : java.util.List.of(sha256(absolute));
        StringBuilder widened = new StringBuilder(sumLine(sum, name));
        old.forEach(o -> widened.append(sumLine(o, name)));
        Files.writeString(tmpSum, widened, StandardCharsets.US_ASCII);
        Files.move(tmpSum, sumFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        reached(watch, Step.CHECKSUMS_WIDENED);
        Files.move(tmp, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        reached(watch, Step.RENAMED);
        if (!old.isEmpty()) {
            Files.writeString(tmpSum, sumLine(sum, name), StandardCharsets.US_ASCII);
            Files.move(tmpSum, sumFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    private static String sumLine(String sum, String name) {
        return sum + "  " + name + "\n";
    }

    private static void reached(PublishObserver watch, Step step) {
        if (watch != null) {
            watch.reached(step);
        }
    }

    /** The start of the names of {@code fileName}'s temporary files: {@code .<name>.pid}, then the writer's pid. */
    static String tempPrefix(String fileName) {
        return "." + fileName + ".pid";
    }

    /**
     * Deletes the temporary files that writers of {@code fileName} in {@code dir} left when they were
     * killed: those whose process is no longer alive. Files of live processes, this one included,
     * are left to their writers.
     */
    private static void sweepAbandoned(Path dir, String fileName) throws IOException {
        String prefix = tempPrefix(fileName);
        long self = ProcessHandle.current().pid();
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String n = f.getFileName().toString();
                if (!n.startsWith(prefix) || !n.endsWith(".part")) {
                    continue;
                }
                int dash = n.indexOf('-', prefix.length());
                long pid;
                try {
                    pid = Long.parseLong(n.substring(prefix.length(), dash < 0 ? prefix.length() : dash));
                } catch (NumberFormatException e) {
                    continue; // not one of ours
                }
                if (pid != self && ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true)) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    /**
     * The SHA-256 sums a checksum file accepts (one per line, {@code sha256sum}'s format); empty when there is none.
     */
    private static java.util.List<String> acceptedSums(Path sumFile) throws IOException {
        if (!Files.exists(sumFile)) {
            return java.util.List.of();
        }
        return Files.readAllLines(sumFile, StandardCharsets.US_ASCII).stream().map(String::trim)
                .filter(l -> !l.isEmpty()).map(l -> l.split("\\s+")[0]).toList();
    }

    /**
     * Reads a model zip, after checking it against its checksum file when there is one.
     *
     * @param requireChecksum whether a missing checksum file is an error (it is for the zoo cache)
     * @throws IOException naming the file if it is missing, fails its checksum, or is not a model zip
     */
    public static ComputationGraph read(Path zip, boolean requireChecksum) throws IOException {
        return read(zip, requireChecksum, false);
    }

    /**
     * Reads a model zip as {@link #read(Path, boolean)} does, with its updater state when
     * {@code loadUpdater} (to continue training from a checkpoint).
     */
    public static ComputationGraph read(Path zip, boolean requireChecksum, boolean loadUpdater) throws IOException {
        if (!Files.isRegularFile(zip)) {
            throw new IOException(zip + ": no such file");
        }
        Path sumFile = checksumFile(zip);
        if (Files.exists(sumFile)) {
            java.util.List<String> expected = acceptedSums(sumFile);
            String actual = sha256(zip);
            if (expected.stream().noneMatch(actual::equalsIgnoreCase)) {
                throw new IOException(zip + ": fails its checksum (" + sumFile.getFileName() + " says "
                        + String.join(" or ", expected) + ", the file hashes to " + actual
                        + "); it is damaged or was replaced: write it again");
            }
        } else if (requireChecksum) {
            throw new IOException(zip + ": has no checksum file " + sumFile.getFileName() + "; write it again");
        }
        checkZip(zip);
        NativeDefaults.apply(); // before the model's first array, unless ND4J has loaded
        try {
            return FastPath.install(ModelSerializer.restoreComputationGraph(zip.toFile(), loadUpdater));
        } catch (IOException | RuntimeException | OutOfMemoryError e) {
            throw new IOException(zip + ": not a DL4J ComputationGraph model zip (" + e + ")", e);
        }
    }

    /**
     * Reads every entry of a model zip through its CRC and checks that the parameters it stores fit
     * its configuration, before DL4J parses anything: a damaged zip is an IOException here, not an
     * absurd allocation or a native failure inside DL4J.
     */
    private static void checkZip(Path zip) throws IOException {
        String json = null;
        long coefficientBytes = -1;
        int entries = 0;
        try (java.util.zip.ZipInputStream in = new java.util.zip.ZipInputStream(
                new java.io.BufferedInputStream(Files.newInputStream(zip)))) {
            byte[] buf = new byte[1 << 16];
            for (java.util.zip.ZipEntry e; (e = in.getNextEntry()) != null; ) {
                entries++;
                if (e.getName().equals(ModelSerializer.PREPROCESSOR_BIN)) {
                    // DL4J's reader would deserialise it with a plain ObjectInputStream: code from the file.
                    throw new IOException("it has a " + ModelSerializer.PREPROCESSOR_BIN
                            + " entry (a Java-serialised object DL4J would instantiate unchecked); refused");
                }
                java.io.ByteArrayOutputStream text = new java.io.ByteArrayOutputStream();
                long size = 0;
                for (int n; (n = in.read(buf)) > 0; ) { // the stream checks each entry's CRC at its end
                    size += n;
                    if (e.getName().equals(ModelSerializer.CONFIGURATION_JSON)) {
                        if (size > MAX_JSON_BYTES) {
                            throw new IOException("its configuration is over " + MAX_JSON_BYTES + " bytes");
                        }
                        text.write(buf, 0, n);
                    }
                }
                if (e.getName().equals(ModelSerializer.CONFIGURATION_JSON)) {
                    json = text.toString(StandardCharsets.UTF_8);
                } else if (e.getName().equals(ModelSerializer.COEFFICIENTS_BIN)) {
                    coefficientBytes = size;
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new IOException(zip + ": not a readable model zip (" + e.getMessage() + ")", e);
        }
        if (entries == 0) {
            throw new IOException(zip + ": not a DL4J model zip (not a zip file)");
        }
        if (json == null || coefficientBytes < 0) {
            throw new IOException(zip + ": not a DL4J model zip (no " + (json == null
                    ? ModelSerializer.CONFIGURATION_JSON
                    : ModelSerializer.COEFFICIENTS_BIN) + ")");
        }
        long params;
        try {
            params = DenseNetBuilder.numParams(org.deeplearning4j.nn.conf.ComputationGraphConfiguration.fromJson(json));
        } catch (RuntimeException e) {
            throw new IOException(zip + ": not a DL4J ComputationGraph model zip (its configuration does not parse: "
                    + e.getMessage() + ")", e);
        }
        // coefficients.bin is the flat float32 parameter vector plus a small header.
        if (coefficientBytes < 4 * params || coefficientBytes > 4 * params + 65_536) {
            throw new IOException(zip + ": stores " + coefficientBytes + " bytes of parameters for a configuration of "
                    + params + " parameters");
        }
    }

    private static final long MAX_JSON_BYTES = 64L << 20;

    /**
     * Installs the model zip bundled as class path {@code resource} (with its {@code .sha256} beside
     * it) at {@code target}: copied to a temporary file, checked against the bundled checksum and
     * read back, then renamed into place, so {@code target} is either the whole checked model or
     * untouched.
     *
     * @throws IOException naming the resource when it is missing or fails its checksum
     */
    public static void installResource(String resource, Path target) throws IOException {
        String expected;
        try (InputStream sum = ModelFiles.class.getResourceAsStream(resource + CHECKSUM_SUFFIX)) {
            if (sum == null) {
                throw new NoSuchFileException(resource, null, "this build of densenet-zoo has no bundled model there");
            }
            expected = new String(sum.readAllBytes(), StandardCharsets.US_ASCII).trim().split("\\s+")[0];
        }
        install(() -> ModelFiles.class.getResourceAsStream(resource), expected, resource, target);
    }

    /** Opens a stream, or returns null when there is nothing to open. */
    @FunctionalInterface
    public interface StreamSource {
        InputStream open() throws IOException;
    }

    /** Copies {@code source} to {@code target} through a temporary file checked against {@code expectedSha256}. */
    public static void install(StreamSource source, String expectedSha256, String what,
            Path target) throws IOException {
        publish(target.toAbsolutePath(), tmp -> {
            try (InputStream in = source.open()) {
                if (in == null) {
                    throw new NoSuchFileException(what, null, "this build of densenet-zoo has no bundled model there");
                }
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
        }, (tmp, sum) -> {
            if (!sum.equalsIgnoreCase(expectedSha256)) {
                throw new IOException(what + ": fails its checksum (" + expectedSha256 + " expected, " + sum
                        + " read); the jar is damaged");
            }
            checkZip(tmp);
        });
    }

    /** The checksum file beside {@code zip}. */
    public static Path checksumFile(Path zip) {
        return zip.resolveSibling(zip.getFileName() + CHECKSUM_SUFFIX);
    }

    /** The SHA-256 of a file, in lower-case hex. */
    public static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
