// How a stemcell is published as an AMI so the adapter finds it (README: "Stemcells"): registered
// under stemcellImageName and tagged with STEMCELL_TAG. Used by `dev up --cloud ec2`, tests and bench.
import { CreateTagsCommand, RegisterImageCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { Image } from '../../domain/cloud';
import { STEMCELL_TAG, stemcellImageName } from './compute';

/** Registers the AMI for a stemcell, tagged as the adapter looks for it; answers its id. */
export async function registerStemcellImage(client: EC2Client, image: Image): Promise<string> {
  const out = await client.send(
    new RegisterImageCommand({
      Name: stemcellImageName(image),
      RootDeviceName: '/dev/sda1',
      Architecture: 'x86_64',
      VirtualizationType: 'hvm',
    }),
  );
  const imageId = out.ImageId ?? '';
  await client.send(
    new CreateTagsCommand({
      Resources: [imageId],
      Tags: [
        { Key: STEMCELL_TAG.os, Value: image.os },
        { Key: STEMCELL_TAG.version, Value: image.version },
      ],
    }),
  );
  return imageId;
}
