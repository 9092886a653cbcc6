package org.densenet4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * NumPy {@code .npy} files of float32 or float64 arrays, read and written in pure Java: a damaged
 * or hostile file is an {@link IOException} naming it, never a native crash. Writing goes through a
 * temporary file renamed into place, so the target is never left half-written.
 */
public final class Npy {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    /** Largest array read: 1 GiB of float32. */
    private static final long MAX_VALUES = 1L << 28;

    private Npy() {
    }

    /**
     * Reads a C-ordered little-endian float32 or float64 array as a float32 INDArray.
     *
     * @throws IOException if the file is missing, not a .npy file, of another dtype, or truncated
     */
    public static INDArray read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": no such file");
        }
        long size = Files.size(file);
        if (size > 8 * MAX_VALUES + 65_536) {
            throw new IOException(file + ": too large for a .npy array this tool reads (" + size + " bytes)");
        }
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[MAGIC.length];
        if (buf.remaining() < 10) {
            throw new IOException(file + ": not a .npy file (too short)");
        }
        buf.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new IOException(file + ": not a .npy file (bad magic bytes)");
        }
        int major = buf.get() & 0xff;
        buf.get(); // minor version
        long headerLen = major == 1 ? buf.getShort() & 0xffff : buf.getInt() & 0xffffffffL;
        if (major < 1 || major > 3 || headerLen > buf.remaining()) {
            throw new IOException(file + ": not a .npy file (version " + major + ", header of " + headerLen
                    + " bytes)");
        }
        byte[] headerBytes = new byte[(int) headerLen];
        buf.get(headerBytes);
        String header = new String(headerBytes, StandardCharsets.ISO_8859_1);

        String descr = group(file, DESCR, header, "descr");
        if (!descr.equals("<f4") && !descr.equals("<f8")) {
            throw new IOException(file + ": dtype '" + descr + "' is not float32 ('<f4') or float64 ('<f8')");
        }
        if (group(file, FORTRAN, header, "fortran_order").equals("True")) {
            throw new IOException(file + ": Fortran-ordered arrays are not supported; save a C-ordered array");
        }
        long[] shape = parseShape(file, group(file, SHAPE, header, "shape"));
        long values = 1;
        for (long d : shape) {
            values = Math.multiplyExact(values, d);
            if (values > MAX_VALUES) {
                throw new IOException(file + ": shape " + Arrays.toString(shape) + " is too large");
            }
        }
        int width = descr.equals("<f4") ? 4 : 8;
        if (buf.remaining() != values * width) {
            throw new IOException(file + ": shape " + Arrays.toString(shape) + " needs " + values * width
                    + " bytes of data, the file has " + buf.remaining() + " (truncated or damaged)");
        }
        float[] data = new float[(int) values];
        if (width == 4) {
            buf.asFloatBuffer().get(data);
        } else {
            var doubles = buf.asDoubleBuffer();
            for (int i = 0; i < data.length; i++) {
                data[i] = (float) doubles.get(i);
            }
        }
        return Nd4j.create(data, shape, 'c');
    }

    private static String group(Path file, Pattern p, String header, String key) throws IOException {
        Matcher m = p.matcher(header);
        if (!m.find()) {
            throw new IOException(file + ": .npy header has no '" + key + "'");
        }
        return m.group(1);
    }

    private static long[] parseShape(Path file, String text) throws IOException {
        String[] parts = text.trim().isEmpty() ? new String[0] : text.split(",");
        long[] shape = new long[(int) Arrays.stream(parts).filter(s -> !s.isBlank()).count()];
        int i = 0;
        for (String part : parts) {
            if (part.isBlank()) {
                continue;
            }
            try {
                shape[i] = Long.parseLong(part.trim().replace("L", ""));
            } catch (NumberFormatException e) {
                throw new IOException(file + ": .npy shape (" + text + ") is not a tuple of integers");
            }
            if (shape[i++] < 0) {
                throw new IOException(file + ": .npy shape (" + text + ") has a negative dimension");
            }
        }
        return shape;
    }

    /** Writes {@code array} as a float32 .npy file, atomically (temporary file, then rename). */
    public static void write(INDArray array, Path file) throws IOException {
        INDArray a = array.castTo(DataType.FLOAT).dup('c');
        long[] shape = a.shape();
        StringBuilder dims = new StringBuilder();
        for (long d : shape) {
            dims.append(d).append(", ");
        }
        String shapeText = shape.length == 1 ? dims.toString().trim() : dims.substring(0, Math.max(0,
                dims.length() - 2));
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shapeText + "), }";
        int unpadded = MAGIC.length + 4 + dict.length() + 1;
        int padding = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(padding) + "\n";
        float[] data = a.data().asFloat();
        ByteBuffer buf = ByteBuffer.allocate(MAGIC.length + 4 + header.length() + 4 * data.length)
                .order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        buf.put(header.getBytes(StandardCharsets.ISO_8859_1));
        buf.asFloatBuffer().put(data);
        org.densenet4j.zoo.io.AtomicFile.write(file, buf.array());
    }
}
