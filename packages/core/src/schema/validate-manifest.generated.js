// Generated from manifest.schema.json by schema-validators.ts when @dmraid/core is built (ajv standalone). Do not edit.
"use strict";
export const validateManifest = validate20;
const schema31 = {"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://cdn.jsdelivr.net/npm/@dmraid/core@1/manifest.schema.json","title":"dmraid format handler manifest","description":"The package.json of a format handler package, as dmraid's handler loader reads it: a package named @dmraid/format-NAME, dmraid-format-NAME or @SCOPE/dmraid-format-NAME whose `dmraid` field declares the handler. Without a `dmraid` field the package is no handler and is skipped. See docs/plugins.md.","type":"object","required":["name","dmraid"],"properties":{"name":{"type":"string","minLength":1},"version":{"type":"string","minLength":1},"dmraid":{"description":"The handler manifest. apiVersion is the handler contract the package implements; a dmraid that supports another version reports the package and skips it, so only apiVersion is checked before the version is known.","type":"object","required":["apiVersion"],"properties":{"apiVersion":{"type":"integer","minimum":1}},"if":{"properties":{"apiVersion":{"const":1}}},"then":{"$ref":"#/$defs/manifestV1"}}},"$defs":{"manifestV1":{"type":"object","additionalProperties":false,"required":["apiVersion","format"],"properties":{"apiVersion":{"const":1},"format":{"type":"string","pattern":"^[a-z][a-z0-9_]*$","description":"The name of the format the package's default export handles (its `name`)."},"template":{"type":"boolean","description":"true marks a template to copy (packages/format-template), never loaded."}}}}};
const schema32 = {"type":"object","additionalProperties":false,"required":["apiVersion","format"],"properties":{"apiVersion":{"const":1},"format":{"type":"string","pattern":"^[a-z][a-z0-9_]*$","description":"The name of the format the package's default export handles (its `name`)."},"template":{"type":"boolean","description":"true marks a template to copy (packages/format-template), never loaded."}}};
const pattern4 = new RegExp("^[a-z][a-z0-9_]*$", "u");

function validate20(data, {instancePath="", parentData, parentDataProperty, rootData=data, dynamicAnchors={}}={}){
/*# sourceURL="https://cdn.jsdelivr.net/npm/@dmraid/core@1/manifest.schema.json" */;
let vErrors = null;
let errors = 0;
const evaluated0 = validate20.evaluated;
if(evaluated0.dynamicProps){
evaluated0.props = undefined;
}
if(evaluated0.dynamicItems){
evaluated0.items = undefined;
}
if(data && typeof data == "object" && !Array.isArray(data)){
if(data.name === undefined){
const err0 = {instancePath,schemaPath:"#/required",keyword:"required",params:{missingProperty: "name"},message:"must have required property '"+"name"+"'"};
if(vErrors === null){
vErrors = [err0];
}
else {
vErrors.push(err0);
}
errors++;
}
if(data.dmraid === undefined){
const err1 = {instancePath,schemaPath:"#/required",keyword:"required",params:{missingProperty: "dmraid"},message:"must have required property '"+"dmraid"+"'"};
if(vErrors === null){
vErrors = [err1];
}
else {
vErrors.push(err1);
}
errors++;
}
if(data.name !== undefined){
let data0 = data.name;
if(typeof data0 === "string"){
if(data0.length < 1){
const err2 = {instancePath:instancePath+"/name",schemaPath:"#/properties/name/minLength",keyword:"minLength",params:{limit: 1},message:"must NOT have fewer than 1 characters"};
if(vErrors === null){
vErrors = [err2];
}
else {
vErrors.push(err2);
}
errors++;
}
}
else {
const err3 = {instancePath:instancePath+"/name",schemaPath:"#/properties/name/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err3];
}
else {
vErrors.push(err3);
}
errors++;
}
}
if(data.version !== undefined){
let data1 = data.version;
if(typeof data1 === "string"){
if(data1.length < 1){
const err4 = {instancePath:instancePath+"/version",schemaPath:"#/properties/version/minLength",keyword:"minLength",params:{limit: 1},message:"must NOT have fewer than 1 characters"};
if(vErrors === null){
vErrors = [err4];
}
else {
vErrors.push(err4);
}
errors++;
}
}
else {
const err5 = {instancePath:instancePath+"/version",schemaPath:"#/properties/version/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err5];
}
else {
vErrors.push(err5);
}
errors++;
}
}
if(data.dmraid !== undefined){
let data2 = data.dmraid;
const _errs7 = errors;
let valid1 = true;
const _errs8 = errors;
if(data2 && typeof data2 == "object" && !Array.isArray(data2)){
if(data2.apiVersion !== undefined){
if(1 !== data2.apiVersion){
const err6 = {};
if(vErrors === null){
vErrors = [err6];
}
else {
vErrors.push(err6);
}
errors++;
}
}
}
var _valid0 = _errs8 === errors;
errors = _errs7;
if(vErrors !== null){
if(_errs7){
vErrors.length = _errs7;
}
else {
vErrors = null;
}
}
if(_valid0){
const _errs10 = errors;
if(data2 && typeof data2 == "object" && !Array.isArray(data2)){
if(data2.apiVersion === undefined){
const err7 = {instancePath:instancePath+"/dmraid",schemaPath:"#/$defs/manifestV1/required",keyword:"required",params:{missingProperty: "apiVersion"},message:"must have required property '"+"apiVersion"+"'"};
if(vErrors === null){
vErrors = [err7];
}
else {
vErrors.push(err7);
}
errors++;
}
if(data2.format === undefined){
const err8 = {instancePath:instancePath+"/dmraid",schemaPath:"#/$defs/manifestV1/required",keyword:"required",params:{missingProperty: "format"},message:"must have required property '"+"format"+"'"};
if(vErrors === null){
vErrors = [err8];
}
else {
vErrors.push(err8);
}
errors++;
}
for(const key0 in data2){
if(!(((key0 === "apiVersion") || (key0 === "format")) || (key0 === "template"))){
const err9 = {instancePath:instancePath+"/dmraid",schemaPath:"#/$defs/manifestV1/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key0},message:"must NOT have additional properties"};
if(vErrors === null){
vErrors = [err9];
}
else {
vErrors.push(err9);
}
errors++;
}
}
if(data2.apiVersion !== undefined){
if(1 !== data2.apiVersion){
const err10 = {instancePath:instancePath+"/dmraid/apiVersion",schemaPath:"#/$defs/manifestV1/properties/apiVersion/const",keyword:"const",params:{allowedValue: 1},message:"must be equal to constant"};
if(vErrors === null){
vErrors = [err10];
}
else {
vErrors.push(err10);
}
errors++;
}
}
if(data2.format !== undefined){
let data5 = data2.format;
if(typeof data5 === "string"){
if(!pattern4.test(data5)){
const err11 = {instancePath:instancePath+"/dmraid/format",schemaPath:"#/$defs/manifestV1/properties/format/pattern",keyword:"pattern",params:{pattern: "^[a-z][a-z0-9_]*$"},message:"must match pattern \""+"^[a-z][a-z0-9_]*$"+"\""};
if(vErrors === null){
vErrors = [err11];
}
else {
vErrors.push(err11);
}
errors++;
}
}
else {
const err12 = {instancePath:instancePath+"/dmraid/format",schemaPath:"#/$defs/manifestV1/properties/format/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err12];
}
else {
vErrors.push(err12);
}
errors++;
}
}
if(data2.template !== undefined){
if(typeof data2.template !== "boolean"){
const err13 = {instancePath:instancePath+"/dmraid/template",schemaPath:"#/$defs/manifestV1/properties/template/type",keyword:"type",params:{type: "boolean"},message:"must be boolean"};
if(vErrors === null){
vErrors = [err13];
}
else {
vErrors.push(err13);
}
errors++;
}
}
}
else {
const err14 = {instancePath:instancePath+"/dmraid",schemaPath:"#/$defs/manifestV1/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err14];
}
else {
vErrors.push(err14);
}
errors++;
}
var _valid0 = _errs10 === errors;
valid1 = _valid0;
if(valid1){
var props0 = true;
}
}
if(!valid1){
const err15 = {instancePath:instancePath+"/dmraid",schemaPath:"#/properties/dmraid/if",keyword:"if",params:{failingKeyword: "then"},message:"must match \"then\" schema"};
if(vErrors === null){
vErrors = [err15];
}
else {
vErrors.push(err15);
}
errors++;
}
if(data2 && typeof data2 == "object" && !Array.isArray(data2)){
if(data2.apiVersion === undefined){
const err16 = {instancePath:instancePath+"/dmraid",schemaPath:"#/properties/dmraid/required",keyword:"required",params:{missingProperty: "apiVersion"},message:"must have required property '"+"apiVersion"+"'"};
if(vErrors === null){
vErrors = [err16];
}
else {
vErrors.push(err16);
}
errors++;
}
if(props0 !== true){
props0 = props0 || {};
props0.apiVersion = true;
}
if(data2.apiVersion !== undefined){
let data7 = data2.apiVersion;
if(!(((typeof data7 == "number") && (!(data7 % 1) && !isNaN(data7))) && (isFinite(data7)))){
const err17 = {instancePath:instancePath+"/dmraid/apiVersion",schemaPath:"#/properties/dmraid/properties/apiVersion/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err17];
}
else {
vErrors.push(err17);
}
errors++;
}
if((typeof data7 == "number") && (isFinite(data7))){
if(data7 < 1 || isNaN(data7)){
const err18 = {instancePath:instancePath+"/dmraid/apiVersion",schemaPath:"#/properties/dmraid/properties/apiVersion/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1},message:"must be >= 1"};
if(vErrors === null){
vErrors = [err18];
}
else {
vErrors.push(err18);
}
errors++;
}
}
}
}
else {
const err19 = {instancePath:instancePath+"/dmraid",schemaPath:"#/properties/dmraid/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err19];
}
else {
vErrors.push(err19);
}
errors++;
}
}
}
else {
const err20 = {instancePath,schemaPath:"#/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err20];
}
else {
vErrors.push(err20);
}
errors++;
}
validate20.errors = vErrors;
return errors === 0;
}
validate20.evaluated = {"props":{"name":true,"version":true,"dmraid":true},"dynamicProps":false,"dynamicItems":false};
