#!/usr/bin/env node
// CDK entry point (cdk.json "app"): `npx cdk synth`, `npx cdk deploy`, `-c localstack=true` for LocalStack.
import { App } from 'aws-cdk-lib';
import { addPseudolabel } from '../pseudolabelApp.ts';

const app = new App();
addPseudolabel(app);
app.synth();
