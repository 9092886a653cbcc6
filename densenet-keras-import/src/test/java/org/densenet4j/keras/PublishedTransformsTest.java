package org.densenet4j.keras;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.densenet4j.preprocess.ImageNetPreprocessor;
import org.densenet4j.zoo.io.ImageTransform;
import org.densenet4j.zoo.io.ImageTransform.Normalization;
import org.junit.jupiter.api.Test;

/** Each set of published weights carries its publisher's transform. */
class PublishedTransformsTest {

    @Test
    void everyCatalogEntryHasItsPublishersTransform() {
        for (PretrainedWeights w : PretrainedWeights.values()) {
            ImageTransform expected = switch (w.source()) {
                // torchvision/models/densenet.py (v0.14.1): every DenseNet*_Weights.IMAGENET1K_V1 has
                // transforms=partial(ImageClassification, crop_size=224); _presets.py: resize_size=256, BILINEAR
                case TORCHVISION -> ImageTransform.imageClassification(224, 256);
                // keras/src/utils/image_utils.py load_img: interpolation="nearest" by default;
                // keras/src/applications/densenet.py preprocess_input: mode="torch"
                case KERAS -> ImageTransform.kerasLoadImg(224, 224);
            };
            assertEquals(expected, w.transform(), w.name());
            assertEquals(ImageNetPreprocessor.Mode.TORCH, w.source().equals(PretrainedWeights.Source.KERAS)
                    ? WeightLayout.KERAS2.preprocessing() : WeightLayout.TORCHVISION.preprocessing());
        }
    }

    @Test
    void theSeedsCaffeFilesAreStretchedAndNormalisedCaffesWay() {
        for (WeightLayout l : new WeightLayout[] {WeightLayout.KERAS1_TF, WeightLayout.KERAS1_TH}) {
            ImageTransform t = l.transform(224, 224);
            assertEquals(new ImageTransform.Stretch(224, 224), t.resize());
            assertEquals(ImageTransform.ChannelOrder.BGR, t.channelOrder());
            assertEquals(Normalization.CAFFE_DENSENET, t.normalization());
            assertEquals(ImageNetPreprocessor.Mode.CAFFE, l.preprocessing());
        }
        ImageTransform other = WeightLayout.TORCHVISION.transform(176, 208);
        assertEquals(new ImageTransform.ShorterSide(238), other.resize()); // round(208 * 256 / 224) = 237.7
        assertEquals(new ImageTransform.Crop(176, 208), other.crop());
    }
}
