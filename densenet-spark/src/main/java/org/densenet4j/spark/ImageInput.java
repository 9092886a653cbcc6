package org.densenet4j.spark;

import java.io.IOException;
import java.io.Serializable;
import java.util.Arrays;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;
import org.densenet4j.io.Images;
import org.densenet4j.zoo.io.ImageTransform;

/**
 * How an image column is read: encoded files (a binary column, as Spark's {@code binaryFile} data
 * source gives them; named by the row's {@code path} when there is one) or decoded pixels (Spark's
 * {@code image} data source: a struct of origin, height, width, nChannels, mode and BGR data). Either
 * way the image goes through the model's transform (resize, crop) and is laid out as
 * {@code densenet features} does a file.
 */
abstract sealed class ImageInput implements Serializable {

    /** One decoded image, or why it could not be decoded. */
    record Decoded(float[] pixels, String error) {
    }

    /** The reading of column {@code column} of rows of {@code schema}. */
    static ImageInput of(StructType schema, String column) {
        int index = fieldIndex(schema, column);
        DataType type = schema.fields()[index].dataType();
        if (type instanceof BinaryType) {
            int path = Arrays.asList(schema.fieldNames()).indexOf("path");
            return new Encoded(index, path);
        }
        if (type instanceof StructType s && Arrays.asList(s.fieldNames()).containsAll(
                java.util.List.of("origin", "height", "width", "nChannels", "data"))) {
            return new Pixels(index, s);
        }
        throw new IllegalArgumentException("column '" + column + "' is " + type.simpleString()
                + "; expected binary (the binaryFile data source's content) or Spark's image struct "
                + "(the image data source)");
    }

    static int fieldIndex(StructType schema, String column) {
        if (!Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException("no column '" + column + "' among "
                    + Arrays.toString(schema.fieldNames()));
        }
        return schema.fieldIndex(column);
    }

    /** The image of {@code row} through {@code transform}'s geometry as [channels, h, w] 0-255 values, or why not. */
    final Decoded decode(Row row, ImageTransform transform, int channels) {
        String name = name(row);
        try {
            return new Decoded(read(row, name, transform, channels), null);
        } catch (IOException | RuntimeException e) {
            return new Decoded(null, e.getMessage() != null && e.getMessage().contains(name) ? e.getMessage()
                    : name + ": " + e);
        }
    }

    abstract String name(Row row);

    abstract float[] read(Row row, String name, ImageTransform transform, int channels) throws IOException;

    /** Encoded image files in a binary column. */
    static final class Encoded extends ImageInput {
        private final int column;
        private final int path;

        Encoded(int column, int path) {
            this.column = column;
            this.path = path;
        }

        @Override
        String name(Row row) {
            return path >= 0 && !row.isNullAt(path) ? ImagePaths.local(row.getString(path)) : "an image";
        }

        @Override
        float[] read(Row row, String name, ImageTransform transform, int channels) throws IOException {
            if (row.isNullAt(column)) {
                throw new IOException(name + ": no image data");
            }
            return Images.decode((byte[]) row.get(column), name, transform, channels);
        }
    }

    /** Decoded pixels in Spark's image struct. */
    static final class Pixels extends ImageInput {
        private final int column;
        private final int origin;
        private final int rows;
        private final int cols;
        private final int bands;
        private final int data;

        Pixels(int column, StructType s) {
            this.column = column;
            this.origin = s.fieldIndex("origin");
            this.rows = s.fieldIndex("height");
            this.cols = s.fieldIndex("width");
            this.bands = s.fieldIndex("nChannels");
            this.data = s.fieldIndex("data");
        }

        @Override
        String name(Row row) {
            Row image = row.isNullAt(column) ? null : row.getStruct(column);
            return image != null && !image.isNullAt(origin) ? ImagePaths.local(image.getString(origin)) : "an image";
        }

        @Override
        float[] read(Row row, String name, ImageTransform transform, int channels) throws IOException {
            if (row.isNullAt(column)) {
                throw new IOException(name + ": no image");
            }
            Row image = row.getStruct(column);
            // The image data source marks a file it could not decode with -1 sizes and no data.
            if (image.isNullAt(rows) || image.getInt(rows) <= 0) {
                throw new IOException(name + ": not an image Spark's image data source could decode");
            }
            return Images.fromPixels((byte[]) image.get(data), image.getInt(rows), image.getInt(cols),
                    image.getInt(bands), name, transform, channels);
        }
    }

}
