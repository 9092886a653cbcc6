package org.densenet4j.zoo.io;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.Normalizer;
import org.nd4j.linalg.dataset.api.preprocessor.serializer.NormalizerSerializer;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J's model zip layout ({@link ModelSerializer}'s entries, readable by
 * {@code ModelSerializer.restoreComputationGraph}, {@code restoreNormalizerFromFile} and
 * {@code getObjectFromFile}), written in one pass, and its stored objects read back through an
 * allow-list.
 *
 * <p>DL4J's own writer adds the normaliser and each named object by copying the whole zip again;
 * for a 29 MB DenseNet-121 with a card, labels and a name that is four rewrites. Here every entry
 * goes out once, and the parameter arrays are stored without compression: deflating float32
 * weights saves 7-10% of the bytes for about a second per 29 MB.
 */
final class ModelZip {

    /** The prefix {@code ModelSerializer.addObjectToFile} stores named objects under. */
    static final String OBJECT_PREFIX = "objects/";

    /**
     * What a stored object may be made of: strings, boxed numbers, java.util's collections and
     * {@link java.util.Random}, arrays of them or of primitives; nothing else is instantiated, so
     * reading a hostile zip cannot run code from the class path.
     */
    private static final ObjectInputFilter OBJECT_FILTER = ObjectInputFilter.Config.createFilter(
            "maxdepth=32;maxrefs=1000000;maxarray=100000000;maxbytes=268435456;"
                    // Object for arrays of it: List.of(...) is read back through an Object[] (java.util.CollSer)
                    + "java.lang.Object;java.lang.String;java.lang.Number;java.lang.Integer;java.lang.Long;"
                    + "java.lang.Double;"
                    + "java.lang.Float;java.lang.Short;java.lang.Byte;java.lang.Boolean;java.lang.Character;"
                    + "java.lang.Enum;java.util.*;!*");

    private ModelZip() {
    }

    /**
     * Writes the whole model zip to {@code out} (not closed).
     *
     * @param objects serialisable objects stored under {@value #OBJECT_PREFIX}{@code name}
     * @param card    the model card, or null
     */
    static void write(ComputationGraph graph, boolean saveUpdater, Normalizer<?> normalizer,
                      Map<String, ?> objects, ModelCard card, OutputStream out) throws IOException {
        ZipOutputStream zip = new ZipOutputStream(new NonClosing(out));
        put(zip, ModelSerializer.CONFIGURATION_JSON,
                graph.getConfiguration().toJson().getBytes(StandardCharsets.UTF_8));
        INDArray params = graph.params();
        if (params != null) {
            putArray(zip, ModelSerializer.COEFFICIENTS_BIN, params);
        } else {
            put(zip, ModelSerializer.NO_PARAMS_MARKER, new byte[0]);
        }
        if (saveUpdater && graph.getUpdater() != null) {
            INDArray state = graph.getUpdater().getStateViewArray();
            if (state != null && state.length() > 0) {
                putArray(zip, ModelSerializer.UPDATER_BIN, state);
            }
        }
        if (normalizer != null) {
            zip.setLevel(Deflater.DEFAULT_COMPRESSION);
            zip.putNextEntry(new ZipEntry(ModelSerializer.NORMALIZER_BIN));
            try {
                NormalizerSerializer.getDefault().write(normalizer, new NonClosing(zip));
            } catch (Exception e) {
                throw new IOException("cannot store the normaliser " + normalizer.getClass().getSimpleName()
                        + " (" + e.getMessage() + ")", e);
            }
            zip.closeEntry();
        }
        for (var e : objects.entrySet()) {
            put(zip, OBJECT_PREFIX + e.getKey(), serialize(e.getKey(), e.getValue()));
        }
        if (card != null) {
            put(zip, ModelCard.ENTRY, card.toJson().getBytes(StandardCharsets.UTF_8));
        }
        zip.finish();
        zip.flush();
    }

    private static void put(ZipOutputStream zip, String name, byte[] data) throws IOException {
        zip.setLevel(Deflater.DEFAULT_COMPRESSION);
        zip.putNextEntry(new ZipEntry(name));
        zip.write(data);
        zip.closeEntry();
    }

    /** An array as {@code Nd4j.write} frames it, in deflate's stored blocks (CRC-checked, not compressed). */
    private static void putArray(ZipOutputStream zip, String name, INDArray array) throws IOException {
        zip.setLevel(Deflater.NO_COMPRESSION);
        zip.putNextEntry(new ZipEntry(name));
        DataOutputStream data = new DataOutputStream(new BufferedOutputStream(new NonClosing(zip), 1 << 16));
        Nd4j.write(array, data);
        data.flush();
        zip.closeEntry();
    }

    private static byte[] serialize(String name, Object value) throws IOException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        } catch (java.io.NotSerializableException e) {
            throw new IOException("cannot store object '" + name + "': " + e.getMessage() + " is not serialisable", e);
        }
        return bytes.toByteArray();
    }

    /**
     * The object stored under {@code name}, as {@code ModelSerializer.getObjectFromFile} would return
     * it, but only if it is made of the allow-listed classes.
     *
     * @throws IOException naming the zip and the entry when there is no such object, it is damaged,
     *                     holds a class outside the allow-list, or is not a {@code type}
     */
    static <T> T readObject(Path zipFile, String name, Class<T> type) throws IOException {
        String entry = OBJECT_PREFIX + name;
        try (ZipFile zip = new ZipFile(zipFile.toFile())) {
            ZipEntry e = zip.getEntry(entry);
            if (e == null) {
                throw new IOException(zipFile + ": has no stored object '" + name + "' (no entry " + entry + ")");
            }
            Object value;
            try (InputStream raw = zip.getInputStream(e); ObjectInputStream in = new ObjectInputStream(raw)) {
                in.setObjectInputFilter(OBJECT_FILTER);
                value = in.readObject();
            } catch (java.io.InvalidClassException | ClassNotFoundException x) {
                throw new IOException(zipFile + ": entry " + entry + " is refused (" + x.getMessage()
                        + "); stored objects may hold only strings, numbers and java.util collections", x);
            } catch (IOException | RuntimeException x) {
                throw new IOException(zipFile + ": entry " + entry + " is damaged (" + x + ")", x);
            }
            if (!type.isInstance(value)) {
                throw new IOException(zipFile + ": entry " + entry + " holds a " + value.getClass().getName()
                        + ", expected a " + type.getName());
            }
            return type.cast(value);
        } catch (java.util.zip.ZipException x) {
            throw new IOException(zipFile + ": not a readable zip (" + x.getMessage() + ")", x);
        }
    }

    /**
     * The normaliser stored in the zip ({@value ModelSerializer#NORMALIZER_BIN}), or empty when there
     * is none. DL4J's reader loads and instantiates any class a {@code CUSTOM} header names; such a
     * header is refused here before DL4J sees the bytes.
     *
     * @throws IOException naming the zip when the entry is damaged or names a custom strategy class
     */
    static java.util.Optional<Normalizer<?>> readNormalizer(Path zipFile) throws IOException {
        byte[] bytes;
        try (ZipFile zip = new ZipFile(zipFile.toFile())) {
            ZipEntry e = zip.getEntry(ModelSerializer.NORMALIZER_BIN);
            if (e == null) {
                return java.util.Optional.empty();
            }
            try (InputStream in = zip.getInputStream(e)) {
                bytes = in.readNBytes(MAX_NORMALIZER_BYTES + 1);
            }
        } catch (java.util.zip.ZipException x) {
            throw new IOException(zipFile + ": not a readable zip (" + x.getMessage() + ")", x);
        }
        String where = zipFile + ": entry " + ModelSerializer.NORMALIZER_BIN;
        if (bytes.length > MAX_NORMALIZER_BYTES) {
            throw new IOException(where + " is over " + MAX_NORMALIZER_BYTES + " bytes");
        }
        String type;
        try (java.io.DataInputStream header = new java.io.DataInputStream(new java.io.ByteArrayInputStream(bytes))) {
            String magic = header.readUTF();
            int version = header.readInt();
            type = header.readUTF();
            if (!"NORMALIZER".equals(magic) || version != 1) {
                throw new IOException(where + " has no normaliser header (read '" + magic + "', version " + version
                        + ")");
            }
        } catch (java.io.EOFException | java.io.UTFDataFormatException x) {
            throw new IOException(where + " is damaged (" + x + ")", x);
        }
        if (type.equals(org.nd4j.linalg.dataset.api.preprocessor.serializer.NormalizerType.CUSTOM.name())) {
            throw new IOException(where + " names a custom serializer class; refused (loading a model never "
                    + "loads a class the file names)");
        }
        try {
            return java.util.Optional.of(NormalizerSerializer.getDefault().restore(new
                    java.io.ByteArrayInputStream(bytes)));
        } catch (Exception x) {
            throw new IOException(where + " is damaged (" + x + ")", x);
        }
    }

    private static final int MAX_NORMALIZER_BYTES = 64 << 20;

    /** Keeps ZipOutputStream and DL4J's serialisers from closing the stream beneath them. */
    private static final class NonClosing extends java.io.FilterOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
