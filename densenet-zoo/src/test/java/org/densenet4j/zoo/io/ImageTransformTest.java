package org.densenet4j.zoo.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import org.densenet4j.zoo.io.ImageTransform.ChannelOrder;
import org.densenet4j.zoo.io.ImageTransform.Crop;
import org.densenet4j.zoo.io.ImageTransform.Interpolation;
import org.densenet4j.zoo.io.ImageTransform.Normalization;
import org.densenet4j.zoo.io.ImageTransform.ShorterSide;
import org.densenet4j.zoo.io.ImageTransform.Stretch;
import org.junit.jupiter.api.Test;

/** Image transforms as data: torchvision's size rules, the card's JSON, old cards, normalisation arithmetic. */
class ImageTransformTest {

    @Test
    void theShorterSideRuleAndTheCropOffsetsAreTorchvisions() {
        // torchvision 0.14 transforms/functional.py _compute_resized_output_size: int(256 * long / short)
        assertArrayEquals(new int[] {256, 341}, new ShorterSide(256).outputSize(375, 500)); // 341.33
        assertArrayEquals(new int[] {341, 256}, new ShorterSide(256).outputSize(500, 375));
        assertArrayEquals(new int[] {256, 339}, new ShorterSide(256).outputSize(251, 333)); // 339.63, truncated
        assertArrayEquals(new int[] {256, 256}, new ShorterSide(256).outputSize(99, 99));
        // center_crop: int(round((size - crop) / 2.0)), Python's round: ties to even
        assertEquals(58, Crop.offset(341, 224)); // 58.5
        assertEquals(58, Crop.offset(339, 224)); // 57.5
        assertEquals(16, Crop.offset(256, 224));
        assertEquals(0, Crop.offset(224, 224));
        assertEquals(-62, Crop.offset(100, 224)); // padded by (224 - 100) // 2 before
        assertEquals(-61, Crop.offset(101, 224));
    }

    @Test
    void cardsRecordTheirTransformAndReadItBack() throws IOException {
        for (ImageTransform t : List.of(ImageTransform.imageClassification(224, 256),
                ImageTransform.kerasLoadImg(224, 224),
                ImageTransform.legacy("caffe", 224, 224), ImageTransform.legacy(ModelCard.STORED, 28, 28),
                new ImageTransform(new Stretch(32, 48), new Crop(30, 40), Interpolation.BICUBIC, true, ChannelOrder.BGR,
                        Normalization.caffe(List.of(1.0, 2.0, 3.0), 0.5)))) {
            int[] hw = t.outputSize();
            ModelCard card = new ModelCard(t, hw[0], hw[1], 3, List.of("a"), Map.of("file", "w.pth"));
            String json = card.toJson();
            assertEquals(card, ModelCard.fromJson(json), json);
            assertTrue(json.contains("\"preprocessing\" : \"" + card.preprocessing() + "\""),
                    "kept for older readers: " + json);
        }
        String tv = new ModelCard(ImageTransform.imageClassification(224, 256), 224, 224, 3, List.of(), Map.of())
                .toJson();
        assertTrue(tv.contains("\"policy\" : \"shorter-side\""), tv);
        assertTrue(tv.contains("\"interpolation\" : \"bilinear\""), tv);
        assertTrue(tv.contains("\"antialias\" : true"), tv);
    }

    @Test
    void cardsWrittenBeforeTransformsReadAsTodaysStretch() throws IOException {
        ModelCard old = ModelCard.fromJson("{\"preprocessing\": \"caffe\", \"input\": [224, 224, 3], \"labels\": [], "
                + "\"source\": {\"layout\": \"keras1-tf\"}}");
        assertEquals(new ImageTransform(new Stretch(224, 224), null, Interpolation.BILINEAR, false, ChannelOrder.BGR,
                Normalization.CAFFE_DENSENET), old.transform());
        assertEquals("caffe", old.preprocessing());
        ModelCard trained = ModelCard.fromJson("{\"preprocessing\": \"stored\", \"input\": [28, 28, 1]}");
        assertEquals(Normalization.STORED, trained.transform().normalization());
        assertArrayEquals(new int[] {28, 28}, trained.transform().outputSize());
        ModelCard torch = ModelCard.fromJson("{\"preprocessing\": \"torch\", \"input\": [64, 64, 3]}");
        assertEquals(Normalization.IMAGENET, torch.transform().normalization());
    }

    @Test
    void badTransformsAreRefusedSayingWhy() {
        IOException e = assertThrows(IOException.class, () -> ModelCard.fromJson("{\"input\": [224, 224, 3], "
                + "\"transform\": {\"resize\": {\"policy\": \"fit\"}}}"));
        assertTrue(e.getMessage().contains("unknown resize policy 'fit'"), e.getMessage());
        IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
                () -> new ModelCard(ImageTransform.imageClassification(224, 256), 256, 256, 3, List.of(), Map.of()));
        assertTrue(size.getMessage().contains("gives 224x224 images; the model's input is 256x256"), size.getMessage());
        IllegalArgumentException crop = assertThrows(IllegalArgumentException.class, () -> new ImageTransform(
                new ShorterSide(256), null, Interpolation.BILINEAR, true, ChannelOrder.RGB, Normalization.IMAGENET));
        assertTrue(crop.getMessage().contains("needs a centre crop"), crop.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Normalization.meanStd(List.of(0.5), List.of()));
        assertThrows(IllegalArgumentException.class, () -> Interpolation.fromId("lanczos"));
    }

    @Test
    void normalisationIsTorchvisionsFloatArithmeticAndCaffes() {
        float[] rgb = {200, 100, 50};
        ImageTransform.imageClassification(224, 256).normalize(rgb, 3, 1);
        // torchvision: img.float() / 255, then (x - mean) / std with float32 mean and std
        assertEquals((200 / 255f - 0.485f) / 0.229f, rgb[0], 0);
        assertEquals((100 / 255f - 0.456f) / 0.224f, rgb[1], 0);
        assertEquals((50 / 255f - 0.406f) / 0.225f, rgb[2], 0);
        float[] caffe = {200, 100, 50, 10, 20, 30}; // two images of one pixel
        ImageTransform.legacy("caffe", 1, 1).normalize(caffe, 3, 1);
        assertEquals((50 - 103.94f) * 0.017f, caffe[0], 1e-6); // BGR: blue first
        assertEquals((100 - 116.78f) * 0.017f, caffe[1], 1e-6);
        assertEquals((200 - 123.68f) * 0.017f, caffe[2], 1e-6);
        assertEquals((30 - 103.94f) * 0.017f, caffe[3], 1e-6);
        assertThrows(IllegalStateException.class, () -> Normalization.STORED.apply(new float[3], 3, 1));
        assertThrows(IllegalArgumentException.class, () -> Normalization.IMAGENET.apply(new float[4], 1, 4));
    }
}
