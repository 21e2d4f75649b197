// The dev stack's EC2: a local moto, which takes any credentials. These are the stack's own, never
// real ones, and the stack's worker gets them instead of whatever AWS_* the shell carries.
export const DEV_EC2 = {
  region: 'us-east-1',
  accessKeyId: 'converge-dev-moto',
  secretAccessKey: 'converge-dev-moto-not-a-secret',
} as const;
